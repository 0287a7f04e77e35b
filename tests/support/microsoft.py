"""Playing Microsoft's users on cloudsim's pages, for tests that need a real consent or sign-in."""

from __future__ import annotations

import ssl
import time
from urllib.parse import urlsplit

import httpx

from cloudsim import ids
from tenants.actions import consent as consent_actions
from tenants.actions import registration
from tenants.models import CustomerTenant

SIGN_IN_CALLBACK = "http://testserver/accounts/microsoft/login/callback/"


def _http(cloudsim) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=cloudsim.ca_file), timeout=30)


def invite(actor, tenant_ref: str, **link) -> tuple[CustomerTenant, consent_actions.IssuedLink]:
    """Register a tenant and issue its consent link, as an operator would."""
    tenant = registration.register_tenant(actor=actor, tenant_ref=tenant_ref)
    return tenant, consent_actions.issue_consent_link(actor=actor, tenant=tenant, **link)


def to_microsoft(client, token: str) -> str:
    """Open the landing page and continue: the adminconsent URL the portal redirects to."""
    assert client.get(f"/consent/{token}/").status_code == 200
    response = client.post(f"/consent/{token}/")
    assert response.status_code == 302
    return response["Location"]


def answer_at_microsoft(cloudsim, consent_url: str, upn: str, action: str) -> str:
    """Play the admin on cloudsim's consent page; return where Microsoft sends them back."""
    with _http(cloudsim) as http:
        assert http.get(consent_url).status_code == 200
        answer = http.post(consent_url, data={"user": upn, "action": action})
    assert answer.status_code in (302, 303), answer.text[:1000]
    return answer.headers["location"]


def consent(client, cloudsim, token: str, upn: str, action: str = "approve"):
    """The whole customer-admin journey; returns the callback path and query, and its page."""
    back = urlsplit(answer_at_microsoft(cloudsim, to_microsoft(client, token), upn, action))
    assert back.path == "/consent/callback/"
    callback = f"{back.path}?{back.query}"
    return callback, client.get(callback)


def wait_for_status(tenant: CustomerTenant, status: str, timeout: float = 45) -> CustomerTenant:
    """Wait for the worker to move the tenant to ``status``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tenant.refresh_from_db()
        if tenant.status == status:
            return tenant
        time.sleep(0.25)
    raise AssertionError(f"tenant stayed {tenant.status}, expected {status}")


def sign_in(client, cloudsim, upn: str):
    """An operator's Microsoft sign-in through cloudsim; returns the portal's callback response."""
    start = client.post("/accounts/microsoft/login/")
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(cloudsim.login_url)
    with _http(cloudsim) as http:
        form = http.get(authorize)
        assert form.status_code == 200, form.text
        answer = http.post(authorize, data={"user": upn, "password": ids.DEMO_PASSWORD})
    assert answer.status_code in (302, 303), answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == SIGN_IN_CALLBACK
    return client.get(f"{back.path}?{back.query}")
