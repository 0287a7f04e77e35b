"""What auditors, operators and admins see on the audit pages; nobody changes anything there."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.models import AcsResource, Assignment, SyncRun
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor, record_event
from portal.models import Role
from tenants.models import CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarded(operator_user):
    """Fabrikam from registration to verified, with an assignment and a sync run."""
    tenant = CustomerTenant.objects.create(
        tenant_id=uuid.uuid4(), display_name="Fabrikam", status=TenantStatus.VERIFIED
    )
    operator = Actor.operator(operator_user, ip="10.0.0.5")
    admin = Actor.customer_admin(tenant_label="Fabrikam", ip="203.0.113.9")
    record_event(actor=operator, action=Action.TENANT_CREATED, target=tenant, tenant=tenant)
    record_event(
        actor=admin,
        action=Action.CONSENT_DECLINED,
        target=tenant,
        tenant=tenant,
        details={"error": "access_denied", "error_description": "AADSTS65004"},
    )
    record_event(
        actor=admin,
        action=Action.CONSENT_GRANTED,
        target=tenant,
        tenant=tenant,
        details={"admin_consent": "True", "state": "signed-state"},
    )
    record_event(
        actor=Actor.system("verifier"),
        action=Action.CONSENT_VERIFIED,
        target=tenant,
        tenant=tenant,
        details={"findings": [{"check": "acs_clients_sp", "ok": True}]},
    )
    resource = AcsResource.objects.create(name="demo", endpoint="https://demo.example")
    Assignment.objects.create(
        resource=resource,
        tenant=tenant,
        principal_type="group",
        object_id=uuid.uuid4(),
        display_name="Sales",
    )
    run = SyncRun.objects.create(
        resource=resource,
        trigger="manual",
        status="succeeded",
        planned=1,
        created=1,
        finished_at=timezone.now(),
    )
    record_event(
        actor=Actor.system(),
        action=Action.SYNC_FINISHED,
        target=run,
        details={"status": "succeeded"},
    )
    return tenant, resource, run


def _pages(tenant, resource):
    event = AuditEvent.objects.filter(action=Action.CONSENT_GRANTED).get()
    return [
        reverse("audit:log"),
        reverse("audit:log") + "?tenant=Fabrikam&action=consent.&q=fab",
        reverse("audit:event", args=[event.pk]),
        reverse("audit:export_csv") + "?tenant=Fabrikam",
        reverse("audit:export_jsonl"),
        reverse("audit:tenant_report", args=[tenant.pk]),
        reverse("audit:resource_history", args=[resource.pk]),
        reverse("audit:tenant_timeline", args=[tenant.pk]),
        reverse("audit:reports"),
        reverse("dashboard"),
    ]


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_every_audit_page_and_nobody_posts(client, make_user, onboarded, role):
    tenant, resource, _ = onboarded
    client.force_login(make_user(f"{role}-reader@contoso.example", role))
    for url in _pages(tenant, resource):
        assert client.get(url).status_code == 200, url
    before = AuditEvent.objects.count()
    posted = [url for url in _pages(tenant, resource) if url != reverse("dashboard")]
    for url in posted:
        assert client.post(url, {"q": "x"}).status_code == 403, url
    # Nothing changed; each refused attempt is itself on the record, once, and nothing else.
    new = AuditEvent.objects.order_by("id")[before:]
    assert [e.action for e in new] == [Action.ACCESS_DENIED] * len(posted)
    assert [e.details["path"] for e in new] == [url.split("?")[0] for url in posted]


def test_event_page_pretty_prints_scrubbed_details_and_links(auditor_client, onboarded):
    tenant, _, _ = onboarded
    event = AuditEvent.objects.get(action=Action.CONSENT_GRANTED)
    html = auditor_client.get(reverse("audit:event", args=[event.pk])).content.decode()
    assert "Admin consent granted" in html
    assert "customer-admin (Fabrikam)" in html and "203.0.113.9" in html
    assert "&quot;admin_consent&quot;: &quot;True&quot;" in html
    assert "signed-state" not in html and "[redacted]" in html
    assert reverse("audit:tenant_report", args=[tenant.pk]) in html


def test_tenant_report_shows_the_timeline_and_assignments(auditor_client, onboarded):
    tenant, resource, _ = onboarded
    response = auditor_client.get(reverse("audit:tenant_report", args=[tenant.pk]))
    html = response.content.decode()
    order = [
        html.index(label)
        for label in (
            "Tenant registered",
            "Admin consent declined",
            "Admin consent granted",
            "Consent verified",
        )
    ]
    assert order == sorted(order)
    assert "access_denied" in html
    assert "Sales" in html and reverse("audit:resource_history", args=[resource.pk]) in html
    assert response.context["report"].consent_attempts == 2
    assert response.context["report"].verified_at is not None


def test_tenant_report_of_a_tenant_without_history(auditor_client):
    tenant = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Northwind")
    html = auditor_client.get(reverse("audit:tenant_report", args=[tenant.pk])).content.decode()
    assert "No consent or tenant events recorded." in html
    assert "No assignments for this tenant." in html
    assert (
        auditor_client.get(reverse("audit:tenant_report", args=[tenant.pk + 99])).status_code == 404
    )


def test_resource_history_lists_runs_and_sync_events(auditor_client, onboarded):
    _, resource, run = onboarded
    html = auditor_client.get(
        reverse("audit:resource_history", args=[resource.pk])
    ).content.decode()
    assert f"#{run.pk}" in html and "Succeeded" in html
    assert 'data-action="sync.finished">Sync finished<' in html


def test_dashboard_draws_outcome_charts_without_scripts_or_styles(auditor_client, onboarded):
    html = auditor_client.get(reverse("dashboard")).content.decode()
    assert html.count("<svg") == 2
    assert "style=" not in html and "<script>" not in html
    assert "1 consent granted" in html  # a bar's title
    assert "sync run succeeded" in html  # one run: singular


def test_chart_counts_days(onboarded):
    from audit.reports import onboarding_chart

    chart = onboarding_chart()
    assert chart.total == 3  # granted, declined, verified today
    assert len(chart.rows) == 14 and sum(chart.rows[-1][1]) == 3
    assert onboarding_chart(now=timezone.now() + timedelta(days=30)).total == 0


def test_the_filter_form_keeps_choices_and_explains_bad_input(auditor_client, onboarded):
    url = reverse("audit:log")
    html = auditor_client.get(url, {"action": "consent.granted"}).content.decode()
    assert '<option value="consent.granted" selected>' in html
    assert html.count('data-action="consent.granted">Admin consent granted<') == 1
    response = auditor_client.get(url, {"since": "yesterday-ish", "tenant": "Fabrikam"})
    assert response.status_code == 200
    assert "Enter a valid date/time." in response.content.decode()
    # The valid filter still applies: only Fabrikam's events.
    assert {e.tenant_label for e in response.context["page"].events} == {"Fabrikam"}
