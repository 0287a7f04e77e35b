"""Thin Celery tasks on the notify queue: load by id, call a service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications import credentials, dispatch, reminders, services
from notifications.models import Delivery, DeliveryStatus
from notifications.transports import TransportError

logger = logging.getLogger(__name__)


@shared_task(name="notifications.tasks.deliver")
def deliver(delivery_id: int) -> str:
    delivery = services.attempt_delivery(delivery_id=delivery_id)
    if delivery is None:
        return "not due"
    endpoint = delivery.endpoint
    if endpoint is not None:
        endpoint.refresh_from_db()
        if endpoint.enabled and (
            endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        ):
            services.disable_endpoint(endpoint=endpoint)
    return delivery.status


@shared_task(name="notifications.tasks.relay_due")
def relay_due() -> int:
    """Queue every delivery whose next attempt is due (retries, and those the broker missed)."""
    now = timezone.now()
    due = list(
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING], next_attempt_at__lte=now
        )
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:500]
    )
    dispatch.queue(due)
    return len(due)


@shared_task(name="notifications.tasks.send_reminders")
def send_reminders() -> int:
    """Consent-link reminders that are due, and links about to expire unanswered."""
    sent = 0
    for link, step in reminders.due_reminders():
        try:
            sent += services.send_consent_reminder(link=link, step=step) is not None
        except TransportError as exc:
            logger.warning("Reminder for consent link %s not sent: %s", link.pk, exc.message)
    for link, days_left in reminders.expiring_links():
        services.flag_expiring_link(link=link, days_left=days_left)
    return sent


@shared_task(name="notifications.tasks.watch_credentials")
def watch_credentials() -> int:
    """Daily: report the operator app's secrets and certificates that will soon expire."""
    from tenants.graph import GraphError

    if not (settings.ENTRA_CLIENT_ID and settings.ENTRA_HOME_TENANT_ID):
        return 0
    try:
        found = credentials.expiring()
    except GraphError as exc:
        logger.warning("Could not read the operator app's credentials: %s", exc)
        return 0
    for item in found:
        services.flag_expiring_credential(
            credential=item.credential, days_left=item.days_left, threshold=item.threshold
        )
    return len(found)
