"""Reminders to the customer admin of an unanswered consent link, through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from notifications.tasks import send_reminders
from tenants.actions import consent, registration
from tenants.models import ConsentLink

pytestmark = pytest.mark.django_db
ADMIN = "admin@fabrikam.example"


@pytest.fixture
def actor(operator_user):
    cache.clear()  # the consent pages' rate limits
    return Actor.operator(operator_user)


@pytest.fixture
def issued(actor, microsoft_env):  # the GUID is looked up at cloudsim
    tenant = registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam"
    )
    return consent.issue_consent_link(actor=actor, tenant=tenant, admin_email=ADMIN, days=14)


def _age(link: ConsentLink, days: float) -> ConsentLink:
    """Pretend the link was made ``days`` ago (its lifetime unchanged)."""
    shift = timedelta(days=days)
    ConsentLink.objects.filter(pk=link.pk).update(
        created_at=link.created_at - shift, expires_at=link.expires_at - shift
    )
    return ConsentLink.objects.get(pk=link.pk)


def test_an_unanswered_link_sends_each_reminder_once(issued, inbox):
    _age(issued.link, 3)
    assert send_reminders() == 1
    assert send_reminders() == 0
    [mail] = inbox.to(ADMIN)
    assert "waiting for your approval (Fabrikam)" in mail["Subject"]
    text, html = inbox.bodies(mail)
    assert "has not been answered yet" in text and "expires on" in text
    assert issued.token not in text and issued.token not in html  # only its hash is kept
    event = AuditEvent.objects.get(action=Action.CONSENT_REMINDER_SENT)
    assert event.details["step"] == "after:2"


def test_reminders_stop_as_soon_as_the_admin_answers(issued, inbox):
    state = parse_qs(urlsplit(consent.start_admin_consent(token=issued.token)).query)
    consent.record_consent_callback(
        params={
            "admin_consent": "True",
            "tenant": ids.FABRIKAM_TENANT_ID,
            "state": state["state"][0],
        }
    )
    _age(issued.link, 8)
    assert send_reminders() == 0
    assert inbox.messages == []


def test_a_mail_server_that_is_down_leaves_the_reminder_due(issued, inbox, settings):
    _age(issued.link, 3)
    settings.EMAIL_PORT = 9  # nothing listens
    assert send_reminders() == 0
    assert not AuditEvent.objects.filter(action=Action.CONSENT_REMINDER_SENT).exists()
    settings.EMAIL_PORT = inbox.port
    assert send_reminders() == 1


def test_the_operator_sees_the_schedule_and_can_stop_it(issued, inbox, operator_client):
    _age(issued.link, 3)
    send_reminders()
    page = operator_client.get(f"/notifications/links/{issued.link.pk}/reminders/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "after:2" in body and "after:7" in body and "before_expiry:1" in body
    assert "Stop reminders" in body

    operator_client.post(f"/notifications/links/{issued.link.pk}/reminders/")
    _age(issued.link, 5)  # now 8 days old: after:7 would be due
    assert send_reminders() == 0
    assert len(inbox.to(ADMIN)) == 1
    body = operator_client.get(f"/notifications/links/{issued.link.pk}/reminders/").content
    assert b"an operator stopped them" in body
    assert AuditEvent.objects.filter(action=Action.CONSENT_REMINDERS_STOPPED).count() == 1


def test_an_auditor_cannot_stop_reminders(issued, auditor_client):
    response = auditor_client.post(f"/notifications/links/{issued.link.pk}/reminders/")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=Action.CONSENT_REMINDERS_STOPPED).exists()


def test_a_link_close_to_expiry_is_flagged_once_and_reminded_only_the_day_before(issued, inbox):
    _age(issued.link, 13.5)  # expires in half a day
    send_reminders()
    send_reminders()
    flagged = AuditEvent.objects.filter(action=Action.CONSENT_LINK_EXPIRING)
    assert flagged.count() == 1 and flagged.get().details["days_left"] == 0
    steps = set(
        AuditEvent.objects.filter(action=Action.CONSENT_REMINDER_SENT).values_list(
            "details__step", flat=True
        )
    )
    assert steps == {"before_expiry:1"}  # the missed earlier steps are not sent in a burst
    assert len(inbox.to(ADMIN)) == 1
    assert timezone.now() < ConsentLink.objects.get(pk=issued.link.pk).expires_at


def test_the_tenant_page_links_to_a_links_reminders(issued, operator_client):
    page = operator_client.get(f"/tenants/{issued.link.tenant_id}/").content.decode()
    assert f"/notifications/links/{issued.link.pk}/reminders/" in page
