"""Consent answers in the exact shapes Entra sends them, through the real callback view.

Shapes: docs/microsoft/consent-endpoint.md (an error carries ``admin_consent=True`` too, the
description has CRLF-separated trace lines, ``tenant`` is often absent).
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest

from audit.models import AuditEvent
from cloudsim import ids
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db

TRACE = (
    "\r\nTrace ID: 0d2a3c55-8f2e-4f0e-9a5c-5d1a0c2b6f00"
    "\r\nCorrelation ID: 6b1f8a39-3f5c-4d3a-b2b1-9d7b1e6c4a11"
    "\r\nTimestamp: 2026-11-30 10:20:30Z"
)
DECLINED = "AADSTS65004: User declined to consent to access the app."


def _state(issued) -> str:
    url = consent.start_admin_consent(token=issued.token)
    return parse_qs(urlsplit(url).query)["state"][0]


def _callback(client, pairs: list[tuple[str, str]]):
    """GET the callback with the query string in Entra's order, percent-encoded as Entra does."""
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)
    return client.get(f"/consent/callback/?{query}")


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def test_a_cancel_recorded_from_real_entra_is_a_decline_in_plain_words(client, issued):
    # MicrosoftDocs/azure-docs issue 114009: no tenant, no error_subcode, admin_consent=True.
    response = _callback(
        client,
        [
            ("error", "access_denied"),
            ("error_description", DECLINED + TRACE),
            ("error_uri", "https://login.microsoftonline.com/error?code=65004"),
            ("admin_consent", "True"),
            ("state", _state(issued)),
        ],
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Consent was declined" in page and "Nothing was changed" in page
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.outcome == "declined" and link.error_code == "AADSTS65004" and not link.used_at
    assert link.tenant.status == TenantStatus.DECLINED
    [event] = _events("consent.declined")
    assert event.details["error_code"] == "AADSTS65004"
    assert not _events("consent.granted")


def test_the_documented_error_example_with_admin_consent_true_is_not_a_grant(client, issued):
    response = _callback(
        client,
        [
            ("admin_consent", "True"),
            ("error", "consent_required"),
            (
                "error_description",
                "AADSTS65004: The resource owner or authorization server denied the request."
                + TRACE,
            ),
            ("state", _state(issued)),
        ],
    )
    assert response.status_code == 200 and "Consent was declined" in response.content.decode()
    assert ConsentLink.objects.get(pk=issued.link.pk).outcome == "declined"


@pytest.mark.parametrize("with_tenant", [True, False])
def test_a_missing_acs_clients_answer_is_a_failure_never_a_grant(client, issued, with_tenant):
    pairs = [("admin_consent", "True")]
    if with_tenant:
        pairs.append(("tenant", ids.FABRIKAM_TENANT_ID))
    pairs += [
        ("error", "invalid_client"),
        (
            "error_description",
            "AADSTS650052: The app is trying to access a service "
            "'2a04943b-b6a7-4f65-8786-2bb6131b59f6'(Azure Communication Services Clients) that "
            "your organization lacks a service principal for." + TRACE,
        ),
        ("error_uri", "https://login.microsoftonline.com/error?code=650052"),
        ("state", _state(issued)),
    ]
    response = _callback(client, pairs)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Azure Communication Services Clients is missing" in page
    assert "az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6" in page
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.outcome == "error" and link.error_code == "AADSTS650052" and not link.used_at
    assert link.tenant.status == TenantStatus.ATTENTION
    assert [e.details["error_code"] for e in _events("consent.failed")] == ["AADSTS650052"]
    assert not _events("consent.granted")


def test_an_insufficient_role_answer_says_which_role_is_needed(client, issued):
    response = _callback(
        client,
        [
            ("error", "access_denied"),
            (
                "error_description",
                "AADSTS90094: Contoso Communicator needs permission to access resources in your "
                "organization that only an admin can grant." + TRACE,
            ),
            ("error_uri", "https://login.microsoftonline.com/error?code=90094"),
            ("admin_consent", "True"),
            ("state", _state(issued)),
        ],
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Global Administrator" in page and "AADSTS90094" in page
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.outcome == "error" and link.error_code == "AADSTS90094"
    assert _events("consent.failed") and not _events("consent.granted")


def test_an_error_from_another_tenant_is_still_refused(client, issued):
    response = _callback(
        client,
        [
            ("admin_consent", "True"),
            ("tenant", ids.NORTHWIND_TENANT_ID),
            ("error", "invalid_client"),
            ("error_description", "AADSTS650052: missing." + TRACE),
            ("state", _state(issued)),
        ],
    )
    assert response.status_code == 400
    assert "another organization" in response.content.decode()
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.outcome == "" and link.state_nonce


def test_the_code_is_read_from_the_first_line_only(client, issued):
    _callback(
        client,
        [
            ("error", "invalid_request"),
            ("error_description", "AADSTS50011: The redirect URI does not match.\r\nAADSTS65004"),
            ("admin_consent", "True"),
            ("state", _state(issued)),
        ],
    )
    assert ConsentLink.objects.get(pk=issued.link.pk).error_code == "AADSTS50011"


def test_a_failed_answer_on_a_spare_link_does_not_undo_a_verified_tenant(client, actor, issued):
    CustomerTenant.objects.filter(pk=issued.link.tenant_id).update(status=TenantStatus.VERIFIED)
    spare = consent.issue_consent_link(actor=actor, tenant=issued.link.tenant)
    response = _callback(
        client,
        [
            ("admin_consent", "True"),
            ("error", "invalid_client"),
            ("error_description", "AADSTS650052: missing." + TRACE),
            ("state", _state(spare)),
        ],
    )
    assert response.status_code == 200
    tenant = CustomerTenant.objects.get(pk=issued.link.tenant_id)
    assert tenant.status == TenantStatus.VERIFIED
    assert not tenant.checks.exists()  # no failed "check" beside a verified status
    assert ConsentLink.objects.get(pk=spare.link.pk).error_code == "AADSTS650052"
