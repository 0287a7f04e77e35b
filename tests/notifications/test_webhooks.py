"""Signed webhooks to a real receiver on loopback that verifies with standardwebhooks."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from notifications import services
from notifications.models import Delivery, DeliveryStatus, WebhookEndpoint
from notifications.services import NotificationError
from tenants.models import CustomerTenant, TenantStatus
from tests.notifications.events import consent_lost_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_user):
    return Actor.operator(admin_user, ip="10.0.0.1")


@pytest.fixture
def fabrikam():
    return CustomerTenant.objects.create(
        tenant_id=uuid.uuid4(), display_name="Fabrikam", status=TenantStatus.ATTENTION
    )


def _endpoint(admin, receiver, kinds=("consent.lost",)):
    endpoint, secret = services.create_endpoint(
        actor=admin, name="SOC", url=receiver.url, kinds=list(kinds)
    )
    receiver.secrets = [secret]
    return endpoint, secret


def _lose_consent(tenant, capture):
    with capture(execute=True):
        consent_lost_event(tenant)


def test_a_lost_consent_reaches_the_receiver_signed_and_verifiable(
    admin, receiver, fabrikam, eager_celery, django_capture_on_commit_callbacks
):
    _endpoint(admin, receiver)
    _lose_consent(fabrikam, django_capture_on_commit_callbacks)

    [payload] = receiver.verified()
    assert payload["type"] == "consent.lost.v1"
    assert payload["data"]["tenant"] == {"id": fabrikam.pk, "name": "Fabrikam"}
    assert payload["data"]["cause"] == "Failing checks: delegated_grant"
    assert payload["data"]["url"].endswith(f"/tenants/{fabrikam.pk}/")
    headers = receiver.received[0].headers
    delivery = Delivery.objects.get()
    assert headers["webhook-id"] == delivery.message_id
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.last_status_code == 200
    outcome = AuditEvent.objects.get(action=Action.NOTIFY_DELIVERED)
    assert outcome.details["status_code"] == 200
    assert "whsec_" not in str(outcome.details)


def test_an_event_nobody_subscribed_to_sends_nothing(
    admin, receiver, fabrikam, eager_celery, django_capture_on_commit_callbacks
):
    _endpoint(admin, receiver, kinds=["sync.failed"])
    _lose_consent(fabrikam, django_capture_on_commit_callbacks)
    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_a_tenant_filter_keeps_other_tenants_events_out(
    admin, receiver, fabrikam, eager_celery, django_capture_on_commit_callbacks
):
    other = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Litware")
    endpoint, _ = _endpoint(admin, receiver)
    endpoint.subscription.tenants.set([other])
    _lose_consent(fabrikam, django_capture_on_commit_callbacks)
    assert receiver.received == []


def test_500s_and_timeouts_are_retried_with_growing_delays_then_delivered(
    admin, receiver, fabrikam, django_capture_on_commit_callbacks, settings
):
    settings.WEBHOOK_TIMEOUT = 0.5
    _endpoint(admin, receiver)
    receiver.script = [500, "sleep", 503, 200]
    _lose_consent(fabrikam, django_capture_on_commit_callbacks)  # no worker: queued only
    delivery = Delivery.objects.get()
    waits, now = [], timezone.now()
    for _ in range(4):
        delivery = services.attempt_delivery(delivery_id=delivery.pk, now=now)
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - now).total_seconds())
            now = delivery.next_attempt_at
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.attempts == 4
    assert [t.status_code for t in delivery.tries.order_by("at", "pk")] == [500, None, 503, 200]
    assert "No answer within 0.5 s." in [t.error for t in delivery.tries.all()]
    # 30 s, 2 min, 8 min (each ±25 %): exponential, jittered.
    assert 22 <= waits[0] <= 38 and 90 <= waits[1] <= 150 and 360 <= waits[2] <= 600
    # Every try carried the same id, so the receiver can de-duplicate.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    actions = list(
        AuditEvent.objects.filter(action__startswith="notify.").values_list("action", flat=True)
    )
    assert actions.count(Action.NOTIFY_ATTEMPT_FAILED) == 3
    assert actions.count(Action.NOTIFY_DELIVERED) == 1


def test_a_delivery_is_not_tried_before_its_time(admin, receiver, fabrikam, settings):
    endpoint, _ = _endpoint(admin, receiver)
    receiver.script = [500]
    delivery = services.send_ping(actor=admin, endpoint=endpoint)
    delivery = services.attempt_delivery(delivery_id=delivery.pk)
    assert delivery.status == DeliveryStatus.RETRYING
    assert services.attempt_delivery(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_the_last_failed_attempt_gives_up(admin, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    endpoint, _ = _endpoint(admin, receiver)
    receiver.script = [500, 500]
    delivery = services.send_ping(actor=admin, endpoint=endpoint)
    later = timezone.now() + timedelta(days=1)
    services.attempt_delivery(delivery_id=delivery.pk)
    delivery = services.attempt_delivery(delivery_id=delivery.pk, now=later)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert AuditEvent.objects.filter(action=Action.NOTIFY_FAILED).count() == 1


def test_a_redirect_is_not_followed(admin, receiver):
    endpoint, _ = _endpoint(admin, receiver)
    receiver.script = ["redirect"]
    delivery = services.send_ping(actor=admin, endpoint=endpoint)
    delivery = services.attempt_delivery(delivery_id=delivery.pk)
    assert delivery.last_status_code == 307
    assert "redirect (not followed)" in delivery.last_error
    assert len(receiver.received) == 1


def test_redelivery_sends_the_same_message_again(admin, receiver):
    endpoint, _ = _endpoint(admin, receiver)
    delivery = services.send_ping(actor=admin, endpoint=endpoint)
    services.attempt_delivery(delivery_id=delivery.pk)
    services.redeliver(actor=admin, delivery=delivery)
    delivery = services.attempt_delivery(delivery_id=delivery.pk)
    assert delivery.attempts == 2 and delivery.status == DeliveryStatus.DELIVERED
    first, second = receiver.verified()
    assert first == second
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_after_rotation_both_secrets_sign_until_the_overlap_ends(admin, receiver):
    endpoint, old = _endpoint(admin, receiver)
    new = services.rotate_secret(actor=admin, endpoint=endpoint)
    assert new != old
    for secrets in ([old], [new]):
        receiver.secrets = secrets
        delivery = services.send_ping(actor=admin, endpoint=endpoint)
        assert services.attempt_delivery(delivery_id=delivery.pk).status == "delivered"
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until=timezone.now() - timedelta(seconds=1)
    )
    receiver.secrets = [old]
    delivery = services.send_ping(actor=admin, endpoint=endpoint)
    assert services.attempt_delivery(delivery_id=delivery.pk).last_status_code == 401
    rotated = AuditEvent.objects.get(action=Action.WEBHOOK_SECRET_ROTATED)
    assert old not in str(rotated.details) and new not in str(rotated.details)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ],
)
def test_a_private_or_odd_destination_is_refused_and_nothing_is_made(admin, url):
    with pytest.raises(NotificationError):
        services.create_endpoint(actor=admin, name="x", url=url, kinds=["consent.lost"])
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.WEBHOOK_CREATED).exists()


def test_a_name_that_resolves_to_loopback_is_refused_when_sending(admin, receiver, settings):
    endpoint, _ = _endpoint(admin, receiver)
    settings.WEBHOOK_ALLOWED_HOSTS = []  # localhost is no longer admitted to loopback
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        url=receiver.url.replace("127.0.0.1", "localhost")
    )
    endpoint.refresh_from_db()
    delivery = services.attempt_delivery(
        delivery_id=services.send_ping(actor=admin, endpoint=endpoint).pk
    )
    assert receiver.received == []
    assert delivery.status == DeliveryStatus.RETRYING
    assert "could not be reached" in delivery.last_error


def test_http_is_refused_in_production_mode(admin, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(NotificationError, match="Only https"):
        services.create_endpoint(
            actor=admin, name="x", url="http://hooks.example.com/", kinds=["consent.lost"]
        )


def test_repeated_failure_disables_the_endpoint_and_emails_the_admins(
    admin, receiver, inbox, settings, django_capture_on_commit_callbacks
):
    from notifications.tasks import deliver

    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    endpoint, _ = _endpoint(admin, receiver)
    receiver.script = [500, 500, 500]
    first = services.send_ping(actor=admin, endpoint=endpoint)
    second = services.send_ping(actor=admin, endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(first.pk)
        deliver(second.pk)
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "2 failed attempts" in endpoint.disabled_reason
    assert Delivery.objects.filter(status=DeliveryStatus.RETRYING).count() == 0
    [mail] = inbox.to("dana@contoso.example")
    assert "SOC" in mail["Subject"] and "disabled" in mail["Subject"]
    assert AuditEvent.objects.filter(action=Action.WEBHOOK_DISABLED).count() == 1


def test_a_rolled_back_change_notifies_nobody(
    admin, receiver, fabrikam, eager_celery, django_capture_on_commit_callbacks
):
    from django.db import transaction

    _endpoint(admin, receiver)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        consent_lost_event(fabrikam)
        raise RuntimeError("the change failed after its event was written")
    assert callbacks == []
    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_a_delivery_the_broker_missed_is_queued_by_the_relay(
    admin, receiver, fabrikam, django_capture_on_commit_callbacks, monkeypatch, eager_celery
):
    from notifications import tasks

    _endpoint(admin, receiver)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unavailable")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.deliver, "apply_async", broker_down)
        _lose_consent(fabrikam, django_capture_on_commit_callbacks)  # the change still commits
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert receiver.received == []
    assert tasks.relay_due() == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert len(receiver.verified()) == 1
