"""Email notifications through a real SMTP server (aiosmtpd) in the test process."""

from __future__ import annotations

import socket

import pytest

from assignments.models import AcsResource
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor, record_event
from notifications import services
from notifications.models import Delivery, DeliveryStatus
from tests.notifications.events import consent_lost_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def resource():
    return AcsResource.objects.create(
        name="prod-eu", endpoint="https://prod-eu.communication.azure.com", key_env_var="ACS_KEY_X"
    )


def _sync_finished(resource, capture, status="partial"):
    with capture(execute=True):
        record_event(
            actor=Actor.system("sync"),
            action=Action.SYNC_FINISHED,
            target=resource,
            details={"run": 41, "status": status, "failed": 3, "created": 7, "deleted": 0},
        )


def test_an_operator_gets_a_partial_sync_by_email_with_text_html_and_a_link(
    operator_user, resource, inbox, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.PORTAL_BASE_URL = "https://portal.contoso.example"
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["sync.failed"]
    )
    _sync_finished(resource, django_capture_on_commit_callbacks)

    [mail] = inbox.to("omar@contoso.example")
    assert mail["Subject"] == f"[{settings.PORTAL_NAME}] Sync failed or partial"
    text, html = inbox.bodies(mail)
    assert "Sync partial: 3 failed, 7 created, 0 deleted." in text
    assert "https://portal.contoso.example/syncs/41/" in text
    assert '<a href="https://portal.contoso.example/syncs/41/">' in html
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert AuditEvent.objects.filter(action=Action.NOTIFY_DELIVERED).count() == 1


def test_a_successful_sync_emails_nobody(
    operator_user, resource, inbox, eager_celery, django_capture_on_commit_callbacks
):
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["sync.failed"]
    )
    _sync_finished(resource, django_capture_on_commit_callbacks, status="succeeded")
    assert inbox.messages == []


def test_a_resource_filter_keeps_other_resources_quiet(
    operator_user, resource, inbox, eager_celery, django_capture_on_commit_callbacks
):
    other = AcsResource.objects.create(
        name="other", endpoint="https://o.communication.azure.com", key_env_var="ACS_KEY_O"
    )
    services.save_preferences(
        actor=Actor.operator(operator_user),
        user=operator_user,
        kinds=["sync.failed"],
        resources=[other],
    )
    _sync_finished(resource, django_capture_on_commit_callbacks)
    assert inbox.messages == []


def test_a_refused_address_fails_for_good_and_an_unreachable_server_is_retried(
    operator_user, resource, inbox, django_capture_on_commit_callbacks, settings
):
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["sync.failed"]
    )
    _sync_finished(resource, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = closed.getsockname()[1]
    delivery = services.attempt_delivery(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_error == "The mail server could not be reached."

    settings.EMAIL_PORT = inbox.port
    inbox.refuse.add("omar@contoso.example")
    delivery = services.attempt_delivery(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert delivery.status == DeliveryStatus.FAILED
    assert "refused the address" in delivery.last_error
    assert inbox.messages == []


def test_an_unwatched_action_costs_no_delivery(operator_user, django_capture_on_commit_callbacks):
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["consent.lost"]
    )
    with django_capture_on_commit_callbacks() as callbacks:
        record_event(actor=Actor.operator(operator_user), action=Action.TENANT_UPDATED)
    assert callbacks == []


def test_a_watched_event_nobody_subscribed_to_costs_no_callback(
    operator_user, resource, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        record_event(
            actor=Actor.system("sync"),
            action=Action.SYNC_FINISHED,
            target=resource,
            details={"run": 1, "status": "failed"},
        )
    # Only the notifications' own callbacks count: the metrics count every finished sync.
    assert [c for c in callbacks if c.__module__.startswith("notifications")] == []


def test_a_tenant_name_with_an_ampersand_reads_as_written_in_the_subject(
    operator_user, inbox, eager_celery, django_capture_on_commit_callbacks
):
    """A subject is a mail header, plain text: it said "Fabrikam &amp; Co"."""
    from tenants.models import CustomerTenant

    tenant = CustomerTenant.objects.create(
        tenant_id="2f1b8f5e-6a4e-4d5f-9a83-0c5c1d1e7a10", display_name="Fabrikam & Co <EU>"
    )
    services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["consent.lost"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        consent_lost_event(tenant)
    [mail] = inbox.to(operator_user.email)
    assert mail["Subject"].endswith(": Fabrikam & Co <EU>")
    text, html = inbox.bodies(mail)
    assert "Fabrikam & Co <EU>" in text
    assert "Fabrikam &amp; Co &lt;EU&gt;" in html
