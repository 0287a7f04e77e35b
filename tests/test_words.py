"""Words a person reads: no sign-up offered while it is closed, plurals, no literal backticks,
and "Invited" only once a consent link exists."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from assignments import imports, sync
from assignments.acs import AcsError
from assignments.models import SyncRun
from audit import reports
from audit.services import Actor
from cloudsim import ids
from notifications.kinds import KINDS
from tenants.actions import consent, registration
from tenants.errors import TenantError
from tenants.models import CustomerTenant, TenantStatus
from tests.factories import AcsResourceFactory, AssignmentFactory, CustomerTenantFactory

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_offers_no_sign_up_while_sign_up_is_closed(client, settings):
    settings.ACCOUNT_SIGNUP_OPEN = False
    page = client.get("/accounts/login/").content.decode()
    assert "sign up" not in page.lower() and "/accounts/signup/" not in page
    assert "there is no sign-up" in page
    settings.ACCOUNT_SIGNUP_OPEN = True
    assert "/accounts/signup/" in client.get("/accounts/login/").content.decode()


def test_a_reset_for_an_unknown_email_offers_no_sign_up_while_it_is_closed(client, settings):
    settings.ACCOUNT_SIGNUP_OPEN = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password/reset/", {"email": "nobody@fabrikam.example"})
    [message] = mail.outbox
    assert "sign up" not in message.body.lower() and "/accounts/signup/" not in message.body
    assert "there is no sign-up" in message.body


@pytest.mark.parametrize(
    "days, words", [(1, "1 day left."), (0, "0 days left."), (7, "7 days left.")]
)
def test_expiry_notifications_count_days_in_words(days, words):
    assert KINDS["credential.expiring"].cause({"days_left": days}) == words
    assert KINDS["link.expiring"].cause({"days_left": days}) == words


def test_a_tenant_is_invited_only_once_a_consent_link_exists(operator_client, operator_user):
    actor = Actor.operator(operator_user)
    tenant = registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", offline=True
    )
    assert tenant.status == TenantStatus.REGISTERED
    assert "Invited" not in operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    consent.issue_consent_link(actor=actor, tenant=tenant)
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.INVITED
    assert "Invited" in operator_client.get(f"/tenants/{tenant.pk}/").content.decode()


def test_the_customer_admins_pages_show_no_literal_backticks(client, operator_user):
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.NORTHWIND_TENANT_ID, display_name="Northwind", primary_domain="nw.example"
    )
    issued = consent.issue_consent_link(actor=Actor.operator(operator_user), tenant=tenant)
    pages = [client.get(f"/consent/{issued.token}/"), client.get("/consent/x/")]
    state = parse_qs(urlsplit(client.post(f"/consent/{issued.token}/")["Location"]).query)
    pages.append(
        client.get(
            "/consent/callback/",
            {
                "error": "invalid_client",
                "error_description": "AADSTS650052: The app is trying to access a service",
                "state": state["state"][0],
            },
        )
    )
    pages.append(client.get("/consent/callback/", {"state": "forged"}))
    for response in pages:
        assert "`" not in response.content.decode(), response.request["PATH_INFO"]


# --- Plurals: each counted message says "1 thing" and "2 things" -----------------------------


def _import(client, resource, tenants):
    """Upload a CSV of one tenant row per tenant, then confirm it; (preview page, result page)."""
    from tests.assignments.test_views import confirm_fields, upload

    rows = "".join(f"tenant,,{t.tenant_id},\n" for t in tenants)
    text = "principal_type,object_id,tenant_id,client_ids\n" + rows
    preview = upload(client, resource, text).content.decode()
    url = reverse("assignments:import", args=[resource.pk])
    done = client.post(url, confirm_fields(preview), follow=True).content.decode()
    return preview, done


def test_an_import_counts_its_rows_in_the_singular_and_the_plural(operator_client, settings):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    resource = AcsResourceFactory()
    one, two, three = CustomerTenantFactory.create_batch(3, verified=True)
    preview, done = _import(operator_client, resource, [one])
    assert "The row is valid: 1 to add" in preview and "Review it, then confirm" in preview
    assert "Import 1 row<" in preview and "1 rows" not in preview
    assert "Imported 1 row: 1 added" in done
    preview, done = _import(operator_client, resource, [two, three])
    assert "All 2 rows are valid: 2 to add" in preview and "Review them, then confirm" in preview
    assert "Import 2 rows<" in preview
    assert "Imported 2 rows: 2 added" in done


def test_a_rejected_import_counts_its_bad_rows():
    resource = AcsResourceFactory()
    header = "principal_type,object_id,tenant_id,client_ids\n"

    def rejected(n: int) -> str:
        rows = "".join(f"tenant,,{uuid.uuid4()},\n" for _ in range(n))  # tenants not registered
        return str(
            imports.ImportRejected(imports.preview_import(resource=resource, text=header + rows))
        )

    assert rejected(1) == "1 row is not valid."
    assert rejected(2) == "2 rows are not valid."


def test_finishing_an_offboarding_too_early_counts_the_assignments_left(operator_user):
    tenant = CustomerTenantFactory(verified=True, display_name="Fabrikam")
    actor = Actor.operator(operator_user)
    AssignmentFactory(tenant=tenant)
    with pytest.raises(TenantError) as one:
        registration.finish_offboarding(actor=actor, tenant=tenant)
    assert str(one.value).startswith("1 assignment of Fabrikam is still being removed")
    assert "the sync finishes it, then" in str(one.value)
    AssignmentFactory(tenant=tenant)
    with pytest.raises(TenantError) as two:
        registration.finish_offboarding(actor=actor, tenant=tenant)
    assert str(two.value).startswith("2 assignments of Fabrikam are still being removed")


def test_an_acs_client_that_tries_once_gave_up_after_1_attempt(settings):
    from tests.assignments.test_acs_client import client_with, error

    settings.ACS_ALLOWED_HOSTS = ["acs.test:8443"]
    client, sent, _ = client_with([error(500)], max_attempts=1)
    with pytest.raises(AcsError) as info:
        client.patch_assignments({"o1": None})
    assert len(sent) == 1 and "gave up after 1 attempt (" in str(info.value)


@pytest.mark.parametrize(
    "counts, words",
    [
        ({"planned": 1, "failed": 1}, "1 of 1 change failed."),
        ({"planned": 3, "failed": 2}, "2 of 3 changes failed."),
        ({"planned": 1, "drift": 1}, "but 1 remote entry the portal did not make is on the"),
        ({"planned": 1, "drift": 2}, "but 2 remote entries the portal did not make are on"),
    ],
)
def test_a_finished_sync_run_counts_changes_and_drift_in_words(counts, words):
    assert words in sync.outcome_message(SyncRun(**counts))


def test_the_activity_chart_counts_its_days(operator_client):
    chart = {"title": "Sync runs", "total": 3, "rows": [(timezone.now().date(), [3])]}
    one = render_to_string("audit/_chart.html", {"chart": chart, "chart_id": "c"})
    assert "Sync runs: 3 in the last day</title>" in one
    page = operator_client.get(reverse("audit:reports")).content.decode()
    assert "in the last 14 days</title>" in page


def test_a_truncated_tenant_report_counts_the_events_it_shows(
    operator_client, operator_user, monkeypatch
):
    actor = Actor.operator(operator_user)
    tenant = registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", offline=True
    )
    for _ in range(2):
        consent.issue_consent_link(actor=actor, tenant=tenant)
    url = reverse("audit:tenant_report", args=[tenant.pk])
    monkeypatch.setattr(reports, "TIMELINE_LIMIT", 1)
    assert "Showing the first event; the audit log" in operator_client.get(url).content.decode()
    monkeypatch.setattr(reports, "TIMELINE_LIMIT", 2)
    assert "Showing the first 2 events; the audit" in operator_client.get(url).content.decode()


def test_a_failed_service_principal_creation_shows_the_command_in_code_not_backticks(
    microsoft, operator_client, settings
):
    home = settings.ENTRA_HOME_TENANT_ID
    microsoft.admin("DELETE", f"/tenants/{home}/acs-clients-sp")
    microsoft.admin(
        "POST",
        "/faults",
        {"kind": "500", "service": "graph", "method": "POST", "path": "/v1.0/servicePrincipals"},
    )
    page = operator_client.post("/tenants/preflight/", follow=True).content.decode()
    assert "Could not create the service principal" in page
    assert f"Run <code>az ad sp create --id {settings.ACS_CLIENTS_APP_ID}</code> instead." in page
    assert "`" not in page


def test_a_bulk_summary_counts_each_principal_type_in_words():
    from assignments.services import BulkSummary

    summary = BulkSummary(
        count=4, by_type={"user": 1, "group": 2, "tenant": 1}, by_tenant={}, by_resource={},
        examples=[],
    )  # fmt: skip
    assert summary.by_type_text == "1 user, 2 groups, 1 tenant"
