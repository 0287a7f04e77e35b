"""Operator pages and the public consent pages, as a user sees them."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from cloudsim import ids
from tenants.actions import consent, registration
from tenants.models import ConsentLink, CustomerTenant

pytestmark = pytest.mark.django_db


def test_list_filters_by_status_and_search(operator_client, actor, fabrikam):
    registration.register_tenant(
        actor=actor, tenant_ref=ids.LITWARE_TENANT_ID, display_name="Litware"
    )
    page = operator_client.get("/tenants/?q=fabri").content.decode()
    assert "Fabrikam" in page and "Litware" not in page
    page = operator_client.get("/tenants/?status=verified").content.decode()
    assert "No tenants match" in page


def test_create_with_malformed_guid_shows_a_clear_error(operator_client):
    response = operator_client.post("/tenants/add/", {"tenant_ref": "fab12ca7-0000-4000-zzzz"})
    assert response.status_code == 200
    assert "neither a tenant id nor a domain" in response.content.decode()
    assert not CustomerTenant.objects.exists()


def test_create_by_guid_redirects_to_the_tenant(microsoft, operator_client):
    response = operator_client.post("/tenants/add/", {"tenant_ref": ids.FABRIKAM_TENANT_ID})
    tenant = CustomerTenant.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/tenants/{tenant.pk}/"


def test_auditor_cannot_create_links(auditor_client, fabrikam):
    response = auditor_client.post(f"/tenants/{fabrikam.pk}/links/", {"days": 14, "version": "v1"})
    assert response.status_code == 403 and not ConsentLink.objects.exists()


def test_link_is_shown_once_with_a_copy_button(operator_client, fabrikam):
    response = operator_client.post(
        f"/tenants/{fabrikam.pk}/links/",
        {"days": 7, "version": "v1", "admin_email": ""},
        follow=True,
    )
    page = response.content.decode()
    assert 'data-copy-target="consent-url"' in page and "/consent/" in page
    detail = operator_client.get(f"/tenants/{fabrikam.pk}/").content.decode()
    assert "not opened" in detail and "/consent/" + "x" not in detail


def test_detail_page_polls_status(operator_client, fabrikam):
    page = operator_client.get(f"/tenants/{fabrikam.pk}/").content.decode()
    assert f'data-poll-url="/tenants/{fabrikam.pk}/status.json?status=registered' in page
    data = operator_client.get(
        f"/tenants/{fabrikam.pk}/status.json?status=registered&check=0"
    ).json()
    assert data == {
        "fields": {"status": "Registered"},
        "status": "registered",
        "check": 0,
        "done": False,
        "reload": False,
    }
    data = operator_client.get(f"/tenants/{fabrikam.pk}/status.json?status=consented&check=0")
    assert data.json()["reload"] is True


def test_landing_page_explains_the_request(client, issued, settings):
    settings.OPERATOR_NAME = "Contoso Calling"
    page = client.get(f"/consent/{issued.token}/").content.decode()
    for text in [
        "Contoso Calling asks",
        "VoIP.Join",
        "Global Administrator",
        "Cloud Application Administrator",
        "Continue to Microsoft",
    ]:
        assert text in page
    assert 'method="post"' in page


def test_continue_redirects_to_microsoft(client, issued, settings):
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
    response = client.post(f"/consent/{issued.token}/")
    assert response.status_code == 302
    assert response["Location"].startswith(
        f"https://login.microsoftonline.com/{ids.FABRIKAM_TENANT_ID}/adminconsent?"
    )


def test_expired_link_page_changes_nothing_and_logs_no_token(client, issued, caplog):
    ConsentLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now())
    before = ConsentLink.objects.values().get(pk=issued.link.pk)
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/consent/{issued.token}/")
        client.post(f"/consent/{issued.token}/")
    assert response.status_code == 410 and "has expired" in response.content.decode()
    assert ConsentLink.objects.values().get(pk=issued.link.pk) == before
    assert issued.token not in caplog.text


def test_unknown_link_reveals_nothing(client, fabrikam):
    response = client.get("/consent/" + "A" * 43 + "/")
    assert response.status_code == 410
    assert "Fabrikam" not in response.content.decode()


def test_public_pages_are_rate_limited(client, issued, settings):
    settings.CONSENT_RATE_LIMIT = 3
    codes = [client.get("/consent/callback/?state=x").status_code for _ in range(5)]
    assert codes == [400, 400, 400, 429, 429]


def test_callback_result_page_for_missing_acs_clients(client, issued):
    url = consent.start_admin_consent(token=issued.token)
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = client.get(
        "/consent/callback/",
        {
            "error": "invalid_client",
            "state": state,
            "error_description": "AADSTS650052: The app is trying to access a service",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6" in page


def test_list_is_paged_and_keeps_the_filter(operator_client, db):
    from tenants.models import CustomerTenant, TenantStatus
    from tenants.views import TENANTS_PER_PAGE

    CustomerTenant.objects.bulk_create(
        CustomerTenant(tenant_id=f"00000000-0000-4000-8000-{i:012d}", display_name=f"T{i:04d}",
                       status=TenantStatus.VERIFIED if i % 2 else TenantStatus.INVITED)
        for i in range(TENANTS_PER_PAGE * 2 + 10)
    )  # fmt: skip
    first = operator_client.get("/tenants/", {"status": "verified"}).content.decode()
    assert f"{TENANTS_PER_PAGE + 5} tenants, page 1 of 2" in first
    assert "status=verified&amp;page=2" in first
    second = operator_client.get("/tenants/", {"status": "verified", "page": 2}).content.decode()
    assert second.count('<span class="badge status-verified">') == 5
    assert "T0001" in first and "T0001" not in second


def test_detail_links_to_the_onboarding_report(operator_client, fabrikam):
    page = operator_client.get(f"/tenants/{fabrikam.pk}/").content.decode()
    assert f"/audit/tenants/{fabrikam.pk}/report/" in page
