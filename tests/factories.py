"""factory-boy factories for the portal's models: a test names only what its behaviour needs.

Every factory makes a valid row on its own (a SubFactory supplies the tenant or resource it
belongs to); traits name the states tests ask for (``CustomerTenantFactory(verified=True)``,
``OperatorFactory(admin=True)``). The shared situation "a verified tenant with a cloudsim ACS
resource" is in ``tests/support/arrangements.py``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from assignments.models import AcsResource, Assignment, PrincipalType, SyncRun
from portal.models import Role, User
from tenants.actions.consent import hash_token
from tenants.models import ConsentLink, CustomerGroup, CustomerTenant, TenantStatus

# Every test operator signs in with this password (the browser tests type it).
PASSWORD = "correct-horse-battery-staple-42"


class OperatorFactory(DjangoModelFactory):
    """A portal user; an operator unless ``admin=True`` or ``auditor=True``."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"operator{n}@contoso.example")
    role = Role.OPERATOR
    password = Password(PASSWORD)

    class Params:
        admin = factory.Trait(role=Role.ADMIN)
        auditor = factory.Trait(role=Role.AUDITOR)


class CustomerTenantFactory(DjangoModelFactory):
    """A registered customer tenant with a fresh GUID; ``verified=True`` for a consented one."""

    class Meta:
        model = CustomerTenant

    tenant_id = factory.LazyFunction(uuid.uuid4)
    display_name = factory.Sequence(lambda n: f"Tenant {n}")
    status = TenantStatus.REGISTERED

    class Params:
        verified = factory.Trait(status=TenantStatus.VERIFIED)


class ConsentLinkFactory(DjangoModelFactory):
    """An open consent link of 14 days; pass ``token=`` to know what the admin would open."""

    class Meta:
        model = ConsentLink

    class Params:
        token = factory.Sequence(lambda n: f"test-consent-token-{n}")

    tenant = factory.SubFactory(CustomerTenantFactory, status=TenantStatus.INVITED)
    token_hash = factory.LazyAttribute(lambda link: hash_token(link.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))


class CustomerGroupFactory(DjangoModelFactory):
    """A group of a customer tenant, as the operator picked it from Graph."""

    class Meta:
        model = CustomerGroup

    tenant = factory.SubFactory(CustomerTenantFactory, verified=True)
    object_id = factory.LazyFunction(uuid.uuid4)
    display_name = factory.Sequence(lambda n: f"Group {n}")


class AcsResourceFactory(DjangoModelFactory):
    """An ACS resource nobody answers for (``.invalid``) unless ``endpoint=`` says otherwise."""

    class Meta:
        model = AcsResource

    name = factory.Sequence(lambda n: f"acs-{n}")
    endpoint = factory.LazyAttribute(lambda r: f"https://{r.name}.invalid")
    key_env_var = factory.LazyAttribute(lambda r: f"ACS_KEY_{r.name.upper().replace('-', '_')}")


class AssignmentFactory(DjangoModelFactory):
    """A user assignment of a verified tenant, not synced yet."""

    class Meta:
        model = Assignment

    resource = factory.SubFactory(AcsResourceFactory)
    tenant = factory.SubFactory(CustomerTenantFactory, verified=True)
    principal_type = PrincipalType.USER
    object_id = factory.LazyFunction(uuid.uuid4)


class SyncRunFactory(DjangoModelFactory):
    """A sync run an operator asked for, still queued."""

    class Meta:
        model = SyncRun

    resource = factory.SubFactory(AcsResourceFactory)
    trigger = "manual"
