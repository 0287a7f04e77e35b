"""Audit test fixtures: Fabrikam consented for real through cloudsim (integration tests)."""

from __future__ import annotations

import ssl
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from audit.services import Actor
from cloudsim import ids
from tenants import graph, services
from tenants.models import CustomerTenant


@pytest.fixture
def microsoft(cloudsim_clean, microsoft_env, settings):
    """A fresh cloudsim, the portal pointed at it, no tokens cached from earlier tests."""
    from django.core.cache import cache

    cache.clear()
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"  # the redirect URI cloudsim knows
    graph.reset_token_caches()
    yield cloudsim_clean
    graph.reset_token_caches()


@pytest.fixture
def consented_fabrikam(microsoft, operator_user) -> CustomerTenant:
    """Fabrikam registered, its link opened, and its admin's consent recorded by the callback."""
    actor = Actor.operator(operator_user, ip="10.0.0.5")
    tenant = services.register_tenant(actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID)
    issued = services.issue_consent_link(actor=actor, tenant=tenant)
    services.open_consent_link(token=issued.token, ip="203.0.113.9")
    consent_url = services.start_admin_consent(token=issued.token, ip="203.0.113.9")
    tls = ssl.create_default_context(cafile=microsoft.ca_file)
    with httpx.Client(verify=tls, timeout=30) as http:
        assert http.get(consent_url).status_code == 200
        answer = http.post(
            consent_url, data={"user": "admin@fabrikam.example", "action": "approve"}
        )
    assert answer.status_code in (302, 303), answer.text[:500]
    params = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    services.record_consent_callback(params=params, ip="203.0.113.9")
    tenant.refresh_from_db()
    return tenant
