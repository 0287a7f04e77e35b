"""Changing notification state: preferences, webhook endpoints, deliveries, reminders.

Every public function writes exactly one audit event in its transaction. Deliveries are tried
by ``attempt_delivery`` (in a Celery task, never in a request); each attempt's outcome is an
audit event without the payload's secrets, the signature or the endpoint's secret.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import Action
from audit.services import Actor, record_event
from notifications import dispatch, retry
from notifications.kinds import KINDS
from notifications.models import (
    Channel,
    ConsentReminder,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    ReminderStop,
    Subscription,
    WebhookEndpoint,
)
from notifications.payloads import ping_payload
from notifications.secrets import encrypt, new_secret
from notifications.transports import TransportError
from notifications.transports import email as email_transport
from notifications.transports import webhook as webhook_transport
from portal.models import User
from tenants.models import ConsentLink


class NotificationError(Exception):
    """A request the notification services refuse; the message is meant for the person."""


def _clean_kinds(kinds: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(kinds))
    unknown = [k for k in chosen if k not in KINDS]
    if unknown:
        raise NotificationError(f"Unknown event kind: {', '.join(unknown)}.")
    return chosen


def _subscribe(
    owner: dict, kinds: list[str], tenants: Iterable, resources: Iterable
) -> tuple[Subscription, dict]:
    """The owner's (``user=`` or ``endpoint=``) subscription set to these kinds and filters;
    returns it and the audit details describing it."""
    sub, _ = Subscription.objects.get_or_create(**owner)
    sub.kinds = kinds
    sub.save()
    return sub, _set_filters(sub, tenants, resources)


def _set_filters(sub: Subscription, tenants: Iterable, resources: Iterable) -> dict:
    sub.tenants.set(list(tenants))
    sub.resources.set(list(resources))
    return {
        "kinds": sub.kinds,
        "tenants": sorted(t.pk for t in sub.tenants.all()),
        "resources": sorted(r.pk for r in sub.resources.all()),
    }


def save_preferences(
    *,
    actor: Actor,
    user: User,
    kinds: Iterable[str],
    tenants: Iterable = (),
    resources: Iterable = (),
) -> Subscription:
    """What ``user`` receives by email: these kinds, for these tenants/resources (all if none)."""
    kinds = _clean_kinds(kinds)
    with transaction.atomic():
        sub, details = _subscribe({"user": user}, kinds, tenants, resources)
        record_event(
            actor=actor,
            action=Action.NOTIFY_PREFERENCES_SAVED,
            target=user,
            target_label=user.email,
            details=details,
        )
    return sub


def _checked_url(url: str) -> str:
    try:
        return webhook_transport.check_webhook_url(url)
    except webhook_transport.outbound.DestinationRefused as exc:
        raise NotificationError(str(exc)) from None


def create_endpoint(
    *,
    actor: Actor,
    name: str,
    url: str,
    kinds: Iterable[str],
    tenants: Iterable = (),
    resources: Iterable = (),
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once: show it, never store it)."""
    url, kinds = _checked_url(url), _clean_kinds(kinds)
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            name=name.strip()[:100],
            url=url,
            secret_encrypted=encrypt(secret),
            created_by=actor.user,
        )
        _, details = _subscribe({"endpoint": endpoint}, kinds, tenants, resources)
        record_event(
            actor=actor,
            action=Action.WEBHOOK_CREATED,
            target=endpoint,
            details={"url": endpoint.shown_url, **details},
        )
    return endpoint, secret


def update_endpoint(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    name: str,
    url: str,
    enabled: bool,
    kinds: Iterable[str],
    tenants: Iterable = (),
    resources: Iterable = (),
) -> WebhookEndpoint:
    """Change an endpoint; enabling it again clears its failure count."""
    url, kinds = _checked_url(url), _clean_kinds(kinds)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if enabled and not endpoint.enabled:
            endpoint.consecutive_failures, endpoint.disabled_reason = 0, ""
        endpoint.name, endpoint.url, endpoint.enabled = name.strip()[:100], url, enabled
        endpoint.save()
        _, details = _subscribe({"endpoint": endpoint}, kinds, tenants, resources)
        record_event(
            actor=actor,
            action=Action.WEBHOOK_UPDATED,
            target=endpoint,
            details={"url": endpoint.shown_url, "enabled": enabled, **details},
        )
    return endpoint


def delete_endpoint(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.WEBHOOK_DELETED,
            target=endpoint,
            details={"url": endpoint.shown_url},
        )
        endpoint.delete()


def rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> str:
    """A new secret (returned once); the old one keeps signing for the overlap window."""
    secret = new_secret()
    until = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_until = until
        endpoint.secret_encrypted = encrypt(secret)
        endpoint.save()
        record_event(
            actor=actor,
            action=Action.WEBHOOK_SECRET_ROTATED,
            target=endpoint,
            details={"old_secret_valid_until": until.isoformat()},
        )
    return secret


def send_ping(*, actor: Actor, endpoint: WebhookEndpoint) -> Delivery:
    """Queue a signed test ping to the endpoint (it is delivered like any event)."""
    with transaction.atomic():
        delivery = Delivery.objects.create(
            channel=Channel.WEBHOOK,
            kind="webhook.ping",
            endpoint=endpoint,
            payload=ping_payload(endpoint.name),
            next_attempt_at=timezone.now(),
        )
        record_event(
            actor=actor,
            action=Action.WEBHOOK_PING_SENT,
            target=endpoint,
            details={"delivery": delivery.message_id},
        )
        transaction.on_commit(lambda: dispatch.queue([delivery.pk]))
    return delivery


def redeliver(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Try a delivery again now, whatever its state (same id: receivers can de-duplicate)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = timezone.now()
        delivery.claimed_until = None
        delivery.save()
        record_event(
            actor=actor,
            action=Action.NOTIFY_REDELIVERY,
            target=delivery,
            target_label=str(delivery),
            details={"delivery": delivery.message_id, "attempts": delivery.attempts},
        )
        transaction.on_commit(lambda: dispatch.queue([delivery.pk]))
    return delivery


def _claim(pk: int, now: datetime) -> bool:
    """Take the delivery if it is due and nobody holds it (a conditional UPDATE)."""
    hold = timedelta(seconds=settings.WEBHOOK_TIMEOUT * 3 + 30)
    due = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING], next_attempt_at__lte=now)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(Delivery.objects.filter(due & free, pk=pk).update(claimed_until=now + hold))


def _send(delivery: Delivery) -> int | None:
    if delivery.channel == Channel.EMAIL:
        user = delivery.recipient
        if user is None or not user.is_active:
            raise TransportError("The operator is no longer active.", permanent=True)
        email_transport.send_mail(to=user.email, template="event", context=delivery.payload)
        return None
    endpoint = delivery.endpoint
    if endpoint is None or not endpoint.enabled:
        raise TransportError("The endpoint is disabled.", permanent=True)
    return webhook_transport.send(endpoint, delivery.message_id, delivery.payload)


def attempt_delivery(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Try a due delivery once; None when it is not due or another worker holds it.

    Success → ``delivered``. Failure → ``retrying`` with the next attempt from
    ``notifications.retry``, or ``failed`` after the last attempt or a permanent error.
    """
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = Delivery.objects.select_related("endpoint", "recipient").get(pk=delivery_id)
    started = time.monotonic()
    error: TransportError | None = None
    code = None
    try:
        code = _send(delivery)
    except TransportError as exc:
        error, code = exc, exc.status_code
    duration = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        delivery.attempts += 1
        delivery.claimed_until = None
        delivery.last_status_code, delivery.last_duration_ms = code, duration
        delivery.last_error = error.message[:300] if error else ""
        DeliveryAttempt.objects.create(
            delivery=delivery,
            ok=error is None,
            status_code=code,
            duration_ms=duration,
            error=delivery.last_error,
        )
        delay = (
            None
            if error is None or error.permanent
            else retry.next_delay(delivery.attempts, delivery.channel)
        )
        if error is None:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                DeliveryStatus.DELIVERED,
                timezone.now(),
                None,
            )
            action = Action.NOTIFY_DELIVERED
        elif delay is not None:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.RETRYING, now + delay
            action = Action.NOTIFY_ATTEMPT_FAILED
        else:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
            action = Action.NOTIFY_FAILED
        delivery.save()
        if delivery.endpoint:
            failures = 0 if error is None else delivery.endpoint.consecutive_failures + 1
            WebhookEndpoint.objects.filter(pk=delivery.endpoint.pk).update(
                consecutive_failures=failures
            )
        record_event(
            actor=Actor.system("notifications"),
            action=action,
            target=delivery,
            target_label=str(delivery),
            tenant=delivery.event.tenant if delivery.event_id and delivery.event else None,
            details={
                "delivery": delivery.message_id,
                "channel": delivery.channel,
                "kind": delivery.kind,
                "to": (
                    delivery.endpoint.name
                    if delivery.endpoint
                    else (delivery.recipient.email if delivery.recipient else "")
                ),
                "attempt": delivery.attempts,
                "status_code": code,
                "duration_ms": duration,
                "error": delivery.last_error,
                "next_attempt_at": (
                    delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None
                ),
            },
        )
    return delivery


def disable_endpoint(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Turn off an endpoint that failed ``WEBHOOK_DISABLE_AFTER_FAILURES`` times in a row and
    tell the admins by email; its waiting deliveries fail (an admin may redeliver them)."""
    reason = f"{endpoint.consecutive_failures} failed attempts in a row"
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.enabled, endpoint.disabled_reason = False, reason
        endpoint.save()
        endpoint.deliveries.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
        ).update(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="Disabled.")
        record_event(
            actor=Actor.system("notifications"),
            action=Action.WEBHOOK_DISABLED,
            target=endpoint,
            details={"reason": reason, "url": endpoint.shown_url},
        )
        transaction.on_commit(lambda: _email_admins_disabled(endpoint, reason))
    return endpoint


def _email_admins_disabled(endpoint: WebhookEndpoint, reason: str) -> None:
    from django.urls import reverse

    from notifications.payloads import absolute

    url = absolute(reverse("notifications:webhook", args=[endpoint.pk]))
    for admin in User.objects.filter(role="admin", is_active=True).exclude(email=""):
        # The audit event and the page say it too; one bad address must not stop the others.
        with contextlib.suppress(TransportError):
            email_transport.send_mail(
                to=admin.email,
                template="webhook_disabled",
                context={"endpoint": endpoint.name, "reason": reason, "url": url},
            )


def stop_reminders(*, actor: Actor, link: ConsentLink) -> ReminderStop:
    """No more reminder emails for this link."""
    with transaction.atomic():
        stop, _ = ReminderStop.objects.get_or_create(link=link, defaults={"by": actor.user})
        record_event(
            actor=actor,
            action=Action.CONSENT_REMINDERS_STOPPED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk},
        )
    return stop


def send_consent_reminder(*, link: ConsentLink, step: str) -> ConsentReminder | None:
    """Email the link's admin that it is still unanswered; None if it was sent already,
    answered, revoked, expired or stopped meanwhile (then nothing is written)."""
    from notifications.reminders import reminder_context

    with transaction.atomic():
        link = ConsentLink.objects.select_for_update().select_related("tenant").get(pk=link.pk)
        if (
            link.unavailable_reason
            or link.outcome
            or not link.admin_email
            or ReminderStop.objects.filter(link=link).exists()
            or ConsentReminder.objects.filter(link=link, step=step).exists()
        ):
            return None
        reminder = ConsentReminder.objects.create(link=link, step=step, to=link.admin_email)
        record_event(
            actor=Actor.system("reminders"),
            action=Action.CONSENT_REMINDER_SENT,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, "step": step, "to": link.admin_email},
        )
        # A mail that cannot be sent rolls the reminder back: the next sweep tries again.
        email_transport.send_mail(
            to=link.admin_email, template="consent_reminder", context=reminder_context(link)
        )
    return reminder


def flag_expiring_link(*, link: ConsentLink, days_left: int) -> None:
    """Raise ``consent.link_expiring`` for an unanswered link (operators subscribe to it)."""
    with transaction.atomic():
        record_event(
            actor=Actor.system("reminders"),
            action=Action.CONSENT_LINK_EXPIRING,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, "days_left": days_left},
        )


def flag_expiring_credential(*, credential, days_left: int, threshold: int) -> None:
    """Raise ``operator.credential_expiring`` for one of the operator app's secrets or
    certificates (``notifications.credentials``). Never the secret: only its id, name and end."""
    label = "Client secret" if credential.kind == "password" else "Certificate"
    with transaction.atomic():
        record_event(
            actor=Actor.system("expiry watch"),
            action=Action.CREDENTIAL_EXPIRING,
            target_type="appcredential",
            target_id=credential.key_id,
            target_label=f"{label} {credential.display_name}".strip(),
            details={
                "kind": credential.kind,
                "name": credential.display_name,
                "key_id": credential.key_id,
                "app_id": settings.ENTRA_CLIENT_ID,
                "ends_at": credential.end.isoformat() if credential.end else None,
                "days_left": days_left,
                "threshold": threshold,
            },
        )
