"""The auditor's journey after a real onboarding through cloudsim (issue 6, "done when")."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEvent
from tenants.models import CheckTrigger, TenantStatus
from tenants.verification import verify_consent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_auditor_filters_to_fabrikam_opens_consent_exports_and_reads_the_report(
    consented_fabrikam, auditor_client
):
    verify_consent(tenant=consented_fabrikam, trigger=CheckTrigger.CALLBACK)
    consented_fabrikam.refresh_from_db()
    assert consented_fabrikam.status == TenantStatus.VERIFIED

    # Filter the log to Fabrikam, by its Entra tenant id; the rows read as labels, not codes.
    guid = str(consented_fabrikam.tenant_id)
    log = auditor_client.get(reverse("audit:log"), {"tenant": guid})
    html = log.content.decode()
    assert "Admin consent granted" in html and "Consent verified" in html
    table = html[html.index("<tbody>") : html.index("</tbody>")]
    assert "consent.granted" not in re.sub(r'data-action="[^"]*"', "", table)
    assert all(e.tenant_id == consented_fabrikam.pk for e in log.context["page"].events)

    # Open the consent event.
    granted = AuditEvent.objects.get(action=Action.CONSENT_GRANTED)
    link = re.search(rf'href="({reverse("audit:event", args=[granted.pk])})"', html).group(1)
    event_page = auditor_client.get(link).content.decode()
    assert "Admin consent granted" in event_page and "203.0.113.9" in event_page
    assert "customer-admin (" in event_page  # labelled as the tenant was known then

    # Export the filtered view.
    export = auditor_client.get(reverse("audit:export_csv"), {"tenant": guid})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    actions = {r["action"] for r in rows}
    assert {"tenant.created", "consent.link_created", "consent.granted", "consent.verified"} <= (
        actions
    )
    assert {r["tenant_id"] for r in rows} == {guid}
    assert {r["tenant_name"] for r in rows} == {str(consented_fabrikam)}
    assert "Admin consent granted" in {r["action_label"] for r in rows}
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).count() == 1

    # Open the tenant's onboarding report from the event page.
    report_url = reverse("audit:tenant_report", args=[consented_fabrikam.pk])
    assert report_url in event_page
    report = auditor_client.get(report_url)
    text = report.content.decode()
    steps = [
        "Tenant registered",
        "Consent link created",
        "Consent link opened",
        "Customer admin sent to Microsoft",
        "Admin consent granted",
        "Consent verified",
    ]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert report.context["report"].verified_at is not None
