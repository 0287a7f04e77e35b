"""Operators sign in with Microsoft through cloudsim; other tenants' users are refused."""

from __future__ import annotations

import copy
import ssl
from urllib.parse import urlsplit

import httpx
import pytest

from audit.models import AuditEvent
from cloudsim import ids
from portal.models import Role

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CALLBACK = "http://testserver/accounts/microsoft/login/callback/"


@pytest.fixture
def microsoft(cloudsim_clean, microsoft_env):
    cloudsim_clean.admin("POST", "/apps/redirect-uris", {"redirectUris": [CALLBACK]})
    return cloudsim_clean


def _sign_in(client, cloudsim, upn: str):
    start = client.post("/accounts/microsoft/login/")
    assert start.status_code == 302
    authorize = start["Location"]
    assert authorize.startswith(cloudsim.login_url)
    tls = ssl.create_default_context(cafile=cloudsim.ca_file)
    with httpx.Client(verify=tls, timeout=30) as http:
        form = http.get(authorize)
        assert form.status_code == 200, form.text
        answer = http.post(authorize, data={"user": upn, "password": ids.DEMO_PASSWORD})
    assert answer.status_code in (302, 303), answer.text
    back = urlsplit(answer.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return client.get(f"{back.path}?{back.query}")


def test_invited_home_tenant_operator_signs_in(client, make_user, microsoft):
    make_user("ops@contoso.example", Role.OPERATOR)
    response = _sign_in(client, microsoft, "ops@contoso.example")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="operator.signed_in")
    assert event.details == {"method": "microsoft"}


def test_home_tenant_user_without_invitation_is_refused(client, microsoft):
    response = _sign_in(client, microsoft, "alice@contoso.example")
    assert response.status_code == 403
    assert "no portal account yet" in response.content.decode()
    assert client.get("/").status_code == 302  # still signed out


def test_user_of_another_tenant_is_refused_with_a_clear_page(
    client, make_user, microsoft, settings
):
    # Even if the app registration were set to accept any organization, the portal checks tid.
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["microsoft"]["APPS"][0]["settings"]["tenant"] = "organizations"
    settings.SOCIALACCOUNT_PROVIDERS = providers
    make_user("admin@fabrikam.example", Role.ADMIN)  # same email must not help
    response = _sign_in(client, microsoft, "admin@fabrikam.example")
    assert response.status_code == 403
    page = response.content.decode()
    assert "belongs to another organization" in page
    assert ids.FABRIKAM_TENANT_ID in page
    assert client.get("/").status_code == 302
    refused = AuditEvent.objects.get(action="operator.sign_in_refused")
    assert refused.details["tenant_id"] == ids.FABRIKAM_TENANT_ID
