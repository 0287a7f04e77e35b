"""Admin consent end to end through cloudsim: the customer admin's journey, the operator's view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from tenants.models import ConsentLink, CustomerTenant, TenantStatus
from tenants.tasks import verify_all_tenants
from tenants.verification import RETRY_DELAYS, verify_consent
from tests.support.microsoft import (
    answer_at_microsoft,
    consent,
    invite,
    to_microsoft,
    wait_for_status,
)

pytestmark = [pytest.mark.integration]


@pytest.fixture
def actor(operator_user) -> Actor:
    return Actor.operator(operator_user)


@pytest.mark.django_db(transaction=True)
def test_consent_granted_is_verified_by_the_worker(
    client, operator_client, actor, microsoft, celery_worker
):
    tenant, issued = invite(actor, ids.FABRIKAM_DOMAIN)
    assert str(tenant.tenant_id) == ids.FABRIKAM_TENANT_ID  # resolved from the domain
    _, page = consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert page.status_code == 200
    assert "consent was granted" in page.content.decode()
    assert "Enterprise applications" in page.content.decode()  # next steps for group access
    tenant = wait_for_status(tenant, TenantStatus.VERIFIED)
    check = tenant.checks.first()
    assert check.ok and check.trigger == "callback"
    assert {f["check"] for f in check.findings} >= {
        "app_token",
        "organization",
        "operator_sp",
        "acs_clients_sp",
        "delegated_grant",
    }
    assert tenant.display_name == "Fabrikam" and tenant.verified_domains == [ids.FABRIKAM_DOMAIN]
    detail = operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    assert "Every check passed" in detail and "Verified" in detail
    status = operator_client.get(f"/tenants/{tenant.pk}/status.json?status=invited&check=0")
    assert status.json()["reload"] is True  # the open page reloads into "verified"


@pytest.mark.django_db
def test_replayed_callback_shows_the_recorded_outcome_and_changes_nothing(client, actor, microsoft):
    _, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    callback, first = consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert first.status_code == 200
    before = ConsentLink.objects.values().get(pk=issued.link.pk)
    again = client.get(callback)
    assert again.status_code == 200
    assert "already recorded" in again.content.decode()
    assert "consent was granted" in again.content.decode()
    assert ConsentLink.objects.values().get(pk=issued.link.pk) == before


@pytest.mark.django_db
def test_declined_consent_is_recorded(client, operator_client, actor, microsoft):
    tenant, issued = invite(actor, ids.LITWARE_TENANT_ID)
    _, page = consent(client, microsoft, issued.token, "admin@litware.example", "decline")
    assert page.status_code == 200 and "Consent was declined" in page.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.DECLINED
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert (link.outcome, link.error_code, link.error_subcode) == ("declined", "AADSTS65004", "")
    assert AuditEvent.objects.filter(action="consent.declined", tenant=tenant).exists()


@pytest.mark.django_db
def test_a_user_without_an_admin_role_gets_the_role_page_and_nothing_is_granted(
    client, actor, microsoft
):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    _, page = consent(client, microsoft, issued.token, "megan@fabrikam.example")
    text = page.content.decode()
    assert page.status_code == 200 and "AADSTS90094" in text and "Administrator" in text
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert (link.outcome, link.error_code, link.used_at) == ("error", "AADSTS90094", None)
    assert AuditEvent.objects.filter(action="consent.failed", tenant=tenant).exists()
    assert not AuditEvent.objects.filter(action="consent.granted").exists()


@pytest.mark.django_db
def test_missing_acs_clients_service_principal_gets_the_remedy(
    client, operator_client, actor, microsoft
):
    tenant, issued = invite(actor, ids.NORTHWIND_TENANT_ID)
    _, page = consent(client, microsoft, issued.token, "admin@northwind.example")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Azure Communication Services Clients is missing" in text
    assert "az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6" in text
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.ATTENTION
    detail = operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    assert "AADSTS650052" in detail and "az ad sp create --id" in detail
    # The admin creates it, opens the same link again, and this time consent goes through.
    microsoft.admin("POST", f"/tenants/{ids.NORTHWIND_TENANT_ID}/acs-clients-sp")
    _, page = consent(client, microsoft, issued.token, "admin@northwind.example")
    assert "consent was granted" in page.content.decode()
    assert verify_consent(tenant=tenant).ok


@pytest.mark.django_db
def test_callback_from_foreign_tenant_is_refused(client, actor, microsoft):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    state = parse_qs(urlsplit(to_microsoft(client, issued.token)).query)["state"][0]
    response = client.get(
        "/consent/callback/",
        {"admin_consent": "True", "tenant": ids.NORTHWIND_TENANT_ID, "state": state},
    )
    assert response.status_code == 400
    assert "another organization" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.INVITED
    assert not ConsentLink.objects.get(pk=issued.link.pk).used_at
    event = AuditEvent.objects.get(action="consent.callback_rejected")
    assert event.details["returned_tenant"] == ids.NORTHWIND_TENANT_ID


@pytest.mark.django_db
def test_revoked_consent_is_revoked_on_the_periodic_check(client, actor, microsoft, eager_celery):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert verify_consent(tenant=tenant).ok
    microsoft.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    # An interval later (a sweep skips a tenant checked within it):
    CustomerTenant.objects.filter(pk=tenant.pk).update(last_verified_at=None)
    assert verify_all_tenants() == 1
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.REVOKED
    check = tenant.checks.first()
    assert check.trigger == "periodic" and not check.ok
    failed = [f for f in check.findings if not f["ok"]]
    assert failed and "consent link" in failed[0]["remedy"]


@pytest.mark.django_db
def test_graph_throttling_and_server_errors_are_retried(client, actor, microsoft):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    microsoft.set_fault("429", service="graph", path="/v1.0/organization", arg=1, times=2)
    microsoft.set_fault("500", service="graph", path="/v1.0/servicePrincipals", times=2)
    microsoft.set_fault("503", service="graph", path="/v1.0/oauth2PermissionGrants", times=1)
    check = verify_consent(tenant=tenant)
    assert check.ok, check.findings
    faults = microsoft.admin("GET", "/stats")["faults"]
    assert sum(faults.values()) == 5


@pytest.mark.django_db
def test_four_graph_429s_keep_a_verified_tenant_verified_and_a_retry_settles_it(
    client, operator_client, actor, microsoft, eager_celery, django_capture_on_commit_callbacks
):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert verify_consent(tenant=tenant).ok
    microsoft.set_fault("429", service="graph", path="/v1.0/organization", arg=0, times=4)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        unknown = verify_consent(tenant=tenant, trigger="periodic")
        tenant.refresh_from_db()
        assert tenant.status == TenantStatus.VERIFIED  # not "attention" for an hour
        assert unknown.unknown and not unknown.ok
        page = operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
        assert "could not be reached" in page and "Verified" in page
    assert len(callbacks) == 1  # the retry, soon, not at the next periodic sweep
    latest = tenant.checks.first()
    assert latest.pk != unknown.pk and latest.ok and not latest.unknown
    assert AuditEvent.objects.filter(action="consent.check_unknown", tenant=tenant).count() == 1


@pytest.mark.django_db
def test_a_graph_outage_is_unknown_and_the_retries_stop(
    client, actor, microsoft, eager_celery, django_capture_on_commit_callbacks
):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert verify_consent(tenant=tenant).ok
    microsoft.set_fault("503", service="graph", path="/v1.0/servicePrincipals")
    with django_capture_on_commit_callbacks(execute=True):
        check = verify_consent(tenant=tenant)
    tenant.refresh_from_db()
    assert not check.ok and check.unknown and tenant.status == TenantStatus.VERIFIED
    bad = next(f for f in check.findings if not f["ok"])
    assert "next check retries" in bad["remedy"]
    assert tenant.checks.filter(unknown=True).count() == 1 + len(RETRY_DELAYS)


@pytest.mark.django_db
def test_a_definite_failure_beside_an_unknown_one_still_needs_attention(client, actor, microsoft):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    assert verify_consent(tenant=tenant).ok
    microsoft.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    check = verify_consent(tenant=tenant)
    tenant.refresh_from_db()
    # The definite failure is the operator app's service principal gone: consent was revoked.
    assert not check.unknown and tenant.status == TenantStatus.REVOKED


@pytest.mark.django_db
def test_unknown_domain_is_refused_clearly(operator_client, microsoft):
    response = operator_client.post("/tenants/add/", {"tenant_ref": "nowhere.example"})
    assert "knows no tenant with the domain nowhere.example" in response.content.decode()
    assert not CustomerTenant.objects.exists()


@pytest.mark.django_db
def test_groups_are_picked_from_graph_and_checked(client, operator_client, actor, microsoft):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    page = operator_client.get(f"/tenants/{tenant.pk}/?group_q=Sal").content.decode()
    assert "Sales" in page and ids.FABRIKAM_SALES_GROUP in page
    response = operator_client.post(
        f"/tenants/{tenant.pk}/groups/add/", {"object_id": ids.FABRIKAM_SALES_GROUP}
    )
    assert response.status_code == 302
    assert tenant.groups.get().display_name == "Sales"
    assert verify_consent(tenant=tenant).ok
    microsoft.admin(
        "DELETE",
        f"/tenants/{ids.FABRIKAM_TENANT_ID}/acs-clients-sp/assignments/{ids.FABRIKAM_SALES_GROUP}",
    )
    check = verify_consent(tenant=tenant)
    bad = next(f for f in check.findings if not f["ok"])
    assert bad["check"] == f"group:{ids.FABRIKAM_SALES_GROUP}"
    assert "P1 or P2" in bad["remedy"]


@pytest.mark.django_db
def test_home_preflight_reports_and_creates_acs_clients(operator_client, auditor_user, microsoft):
    auditor_client = Client()
    auditor_client.force_login(auditor_user)
    page = operator_client.get("/tenants/preflight/").content.decode()
    assert "has no service principal in the home tenant" in page
    assert "Create the ACS Clients service principal" in page
    assert "The consent callback http://127.0.0.1:8000/consent/callback/ is registered" in page
    assert "user test callback http://127.0.0.1:8000/consent/test/callback/ is registered" in page
    assert auditor_client.post("/tenants/preflight/").status_code == 403
    operator_client.post("/tenants/preflight/")
    page = operator_client.get("/tenants/preflight/").content.decode()
    assert "Everything is ready" in page, page


@pytest.mark.django_db
def test_v2_consent_and_a_dropped_connection(client, actor, microsoft):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID, version="v2")
    consent_url = to_microsoft(client, issued.token)
    assert "/v2.0/adminconsent?" in consent_url and "scope=" in consent_url
    back = urlsplit(
        answer_at_microsoft(microsoft, consent_url, "admin@fabrikam.example", "approve")
    )
    assert back.path == "/consent/callback/"
    assert "consent was granted" in client.get(f"{back.path}?{back.query}").content.decode()
    microsoft.set_fault("drop", service="graph", path="/v1.0/organization", times=1)
    assert verify_consent(tenant=tenant).ok


@pytest.mark.django_db
def test_an_application_admin_consents_at_the_standard_level_and_the_tenant_is_verified(
    client, operator_client, actor, microsoft
):
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID, level="standard")
    _, page = consent(client, microsoft, issued.token, "appadmin@fabrikam.example")
    assert "consent was granted" in page.content.decode()
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert "https://communication.azure.com/clients/VoIP" in link.granted_scopes.split()
    check = verify_consent(tenant=tenant)
    assert check.ok and check.level == "standard", check.findings
    assert [f["check"] for f in check.findings] == ["app_token", "consent_scopes"]
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.VERIFIED and tenant.verification_level == "standard"
    detail = operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    assert "Not checked at the standard level" in detail and "deep" in detail
    # Revoked consent shows up at the next check: Entra refuses the token probe.
    microsoft.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    check = verify_consent(tenant=tenant, trigger="periodic")
    tenant.refresh_from_db()
    assert not check.ok and not check.unknown and tenant.status == TenantStatus.REVOKED
    assert "AADSTS7000229" in check.findings[0]["detail"]


@pytest.mark.django_db
def test_an_application_admin_cannot_accept_a_deep_link_and_is_told_why(client, actor, microsoft):
    _, issued = invite(actor, ids.FABRIKAM_TENANT_ID, level="deep")
    _, page = consent(client, microsoft, issued.token, "appadmin@fabrikam.example")
    text = page.content.decode()
    assert "AADSTS90094" in text and "standard-level" in text
    assert ConsentLink.objects.get(pk=issued.link.pk).outcome == "error"
