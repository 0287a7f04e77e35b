""" "Test with a user of {tenant}": a customer user signs in (code + PKCE) and ACS answers once."""

from __future__ import annotations

import logging
import re
from html import unescape
from urllib.parse import urlsplit

import pytest

from assignments.models import AcsResource
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from tenants.models import UserTest
from tests.support.arrangements import contoso_acs_at
from tests.support.microsoft import _http, consent, invite

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _sign_in_at_microsoft(microsoft, auth_uri: str, upn: str) -> str:
    """Play the user on cloudsim's sign-in page; return where Microsoft sends them back."""
    with _http(microsoft) as http:
        assert http.get(auth_uri).status_code == 200
        answer = http.post(auth_uri, data={"user": upn, "password": ids.DEMO_PASSWORD})
    assert answer.status_code in (302, 303), answer.text[:500]
    return answer.headers["location"]


def _test_with(client, microsoft, result_page: str, upn: str):
    ticket = re.search(r'name="ticket" value="([^"]+)"', result_page).group(1)
    start = client.post("/consent/test/", {"ticket": unescape(ticket)})
    assert start.status_code == 302
    auth_uri = start["Location"]
    assert "code_challenge=" in auth_uri and "clients%2FVoIP" in auth_uri
    back = urlsplit(_sign_in_at_microsoft(microsoft, auth_uri, upn))
    assert back.path == "/consent/test/callback/"
    return f"{back.path}?{back.query}", client.get(f"{back.path}?{back.query}")


@pytest.fixture
def contoso_acs(microsoft) -> AcsResource:
    return contoso_acs_at(microsoft)


@pytest.fixture
def consented(client, operator_user, microsoft):
    actor = Actor.operator(operator_user)
    tenant, issued = invite(actor, ids.FABRIKAM_DOMAIN, level="standard")
    _, page = consent(client, microsoft, issued.token, "appadmin@fabrikam.example")
    text = page.content.decode()
    assert "Test with a user of fabrikam.example" in text
    return tenant, text


def test_a_user_proves_the_consent_and_hears_why_they_cannot_call_yet(
    client, operator_client, microsoft, contoso_acs, consented, caplog
):
    tenant, result_page = consented
    caplog.set_level(logging.DEBUG)
    callback, page = _test_with(client, microsoft, result_page, "adele@fabrikam.example")
    text = unescape(page.content.decode())
    assert page.status_code == 200
    assert "token with the VoIP permission: the admin consent works" in text
    assert "not assigned to the resource" in text
    test = UserTest.objects.get()
    assert (test.signed_in, test.exchanged, test.ok) == (True, False, False)
    assert test.user_upn == "adele@fabrikam.example" and test.resource == ids.CONTOSO_ACS
    event = AuditEvent.objects.get(action="consent.user_tested")
    assert event.details["exchanged"] is False
    # The user's token is nowhere: not in the audit log, the stored outcome or the logs.
    assert "eyJ" not in str(event.details) + test.detail + caplog.text
    detail = unescape(operator_client.get(f"/tenants/{tenant.pk}/").content.decode())
    assert "Last test with a user" in detail and "adele@fabrikam.example" in detail
    # The answer is single use: the code and the PKCE flow are gone.
    again = client.get(callback)
    assert again.status_code == 400 and UserTest.objects.count() == 1


def test_an_assigned_user_gets_an_acs_token(client, microsoft, contoso_acs, consented):
    _, result_page = consented
    microsoft.admin(
        "POST",
        f"/acs/{ids.CONTOSO_ACS}/assignments",
        {
            "value": [
                {
                    "objectId": ids.FABRIKAM_TENANT_ID,
                    "tenantId": ids.FABRIKAM_TENANT_ID,
                    "principalType": "tenant",
                    "clientIds": [ids.OPERATOR_APP_ID],
                }
            ]
        },
    )
    _, page = _test_with(client, microsoft, result_page, "megan@fabrikam.example")
    assert "this user can call" in unescape(page.content.decode())
    assert UserTest.objects.get().ok


def test_a_forged_ticket_starts_nothing(client, microsoft):
    response = client.post("/consent/test/", {"ticket": "forged"})
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert client.get("/consent/test/callback/?code=x&state=y").status_code == 400
    assert not UserTest.objects.exists()
