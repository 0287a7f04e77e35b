"""Audit test fixtures: Fabrikam consented for real through cloudsim (integration tests)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from audit.services import Actor
from cloudsim import ids
from tenants.actions import consent, registration
from tenants.models import CustomerTenant
from tests.support.microsoft import answer_at_microsoft


@pytest.fixture
def consented_fabrikam(microsoft, operator_user) -> CustomerTenant:
    """Fabrikam registered, its link opened, and its admin's consent recorded by the callback."""
    actor = Actor.operator(operator_user, ip="10.0.0.5")
    tenant = registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, offline=True
    )
    issued = consent.issue_consent_link(actor=actor, tenant=tenant)
    consent.open_consent_link(token=issued.token, ip="203.0.113.9")
    consent_url = consent.start_admin_consent(token=issued.token, ip="203.0.113.9")
    back = answer_at_microsoft(microsoft, consent_url, "admin@fabrikam.example", "approve")
    params = dict(parse_qsl(urlsplit(back).query))
    consent.record_consent_callback(params=params, ip="203.0.113.9")
    tenant.refresh_from_db()
    return tenant
