"""One shared arrangement: a verified customer tenant and cloudsim's ACS resource.

Fabrikam (cloudsim's seeded customer) is registered and verified in the portal with its Sales
group picked, its admin has consented to the operator app at cloudsim, and the portal knows
cloudsim's ``contoso-acs`` resource (its key read from ``ACS_DEMO_ACCESS_KEY``, which
``microsoft_env`` sets). The fixture ``verified_tenant_with_acs`` (tests/conftest.py) gives it;
tests that need only a part use ``verified_fabrikam()`` or ``contoso_acs(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from assignments import testing
from assignments.models import AcsResource
from cloudsim import ids
from cloudsim.testing import RunningCloudSim
from tenants.models import CustomerGroup, CustomerTenant
from tests.factories import AcsResourceFactory, CustomerGroupFactory, CustomerTenantFactory


@dataclass(frozen=True)
class VerifiedTenantWithAcs:
    tenant: CustomerTenant
    group: CustomerGroup  # Fabrikam's Sales group, picked by the operator
    resource: AcsResource


def verified_fabrikam() -> CustomerTenant:
    """Fabrikam as the portal holds it once verified, with its Sales group picked."""
    tenant = CustomerTenantFactory(
        tenant_id=ids.FABRIKAM_TENANT_ID,
        display_name="Fabrikam",
        primary_domain=ids.FABRIKAM_DOMAIN,
        verified=True,
    )
    CustomerGroupFactory(tenant=tenant, object_id=ids.FABRIKAM_SALES_GROUP, display_name="Sales")
    return tenant


def contoso_acs(endpoint: str) -> AcsResource:
    """cloudsim's ``contoso-acs`` resource at ``endpoint``, its key in ``ACS_DEMO_ACCESS_KEY``."""
    return AcsResourceFactory(
        name=ids.CONTOSO_ACS, endpoint=endpoint, key_env_var="ACS_DEMO_ACCESS_KEY"
    )


def contoso_acs_at(cloudsim: RunningCloudSim) -> AcsResource:
    return contoso_acs(cloudsim.acs_resources[ids.CONTOSO_ACS]["endpoint"])


def verified_tenant_with_acs(cloudsim: RunningCloudSim) -> VerifiedTenantWithAcs:
    """Fabrikam consented at cloudsim and verified in the portal; ``contoso-acs`` emptied and
    registered as the sync benchmark arranges it (``assignments.testing.empty_resource``)."""
    cloudsim.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    tenant = verified_fabrikam()
    return VerifiedTenantWithAcs(
        tenant=tenant, group=tenant.groups.get(), resource=testing.empty_resource(cloudsim)
    )
