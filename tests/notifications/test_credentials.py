"""Expiry watch of the operator app's own secrets and certificates, read from cloudsim's Graph."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from notifications import services
from notifications.tasks import watch_credentials
from tenants import graph

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _credentials(microsoft, secrets=(), certificates=()):
    microsoft.admin(
        "POST",
        "/apps/credentials",
        {"secret_days": list(secrets), "certificate_days": list(certificates)},
    )


def test_graph_gives_each_credential_with_its_end_date(microsoft):
    _credentials(microsoft, secrets=[10], certificates=[400])
    found = graph.get_application_credentials(
        tenant_id=ids.CONTOSO_TENANT_ID, app_id=ids.OPERATOR_APP_ID
    )
    by_kind = {c.kind: c for c in found}
    assert set(by_kind) == {"password", "certificate"}
    left = by_kind["password"].end - timezone.now()
    assert timedelta(days=9) < left <= timedelta(days=10)


def test_a_seeded_app_has_a_secret_valid_for_two_years(microsoft):
    [secret] = graph.get_application_credentials(
        tenant_id=ids.CONTOSO_TENANT_ID, app_id=ids.OPERATOR_APP_ID
    )
    assert secret.kind == "password"
    assert secret.end - timezone.now() > timedelta(days=700)
    assert watch_credentials() == 0


def test_soon_expiring_credentials_raise_one_event_per_threshold_and_an_email(
    microsoft, operator_user, inbox, eager_celery, django_capture_on_commit_callbacks
):
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["credential.expiring"]
    )
    _credentials(microsoft, secrets=[10, 400], certificates=[3])
    with django_capture_on_commit_callbacks(execute=True):
        assert watch_credentials() == 2
    assert watch_credentials() == 0  # already reported at these thresholds
    events = AuditEvent.objects.filter(action=Action.CREDENTIAL_EXPIRING)
    assert sorted((e.details["kind"], e.details["threshold"]) for e in events) == [
        ("certificate", 7),
        ("password", 30),
    ]
    assert all("secretText" not in str(e.details) for e in events)
    mails = inbox.to("omar@contoso.example")
    assert len(mails) == 2
    assert all("Operator app credential expiring" in m["Subject"] for m in mails)
    assert any("10 days left." in inbox.bodies(m)[0] for m in mails)


def test_a_graph_outage_reports_nothing_and_does_not_fail(microsoft):
    _credentials(microsoft, secrets=[2])
    microsoft.set_fault("503", service="graph")
    assert watch_credentials() == 0
    assert not AuditEvent.objects.filter(action=Action.CREDENTIAL_EXPIRING).exists()
