"""Tenants test helpers: registered tenants and consent links made through the services."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from audit.services import Actor
from cloudsim import ids
from tenants.actions import consent, registration
from tenants.models import CustomerTenant


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield


@pytest.fixture
def actor(operator_user) -> Actor:
    return Actor.operator(operator_user)


@pytest.fixture
def fabrikam(microsoft, actor) -> CustomerTenant:
    """Fabrikam, registered as an operator would: looked up at Microsoft (cloudsim)."""
    return registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam"
    )


@pytest.fixture
def issued(actor, fabrikam) -> consent.IssuedLink:
    return consent.issue_consent_link(
        actor=actor, tenant=fabrikam, admin_email="admin@fabrikam.example"
    )
