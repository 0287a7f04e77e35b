"""From committed audit events to deliveries: the one hook ``audit.services`` calls.

``offer`` runs inside ``record_event``'s transaction and only registers an on-commit callback
when the event matches a kind that some subscription names, so a rolled-back change notifies
nobody and most events cost nothing. After the commit, ``fan_out`` writes one ``Delivery``
per matching subscriber (bookkeeping, not audited: the outcome of each delivery is) and queues
them. If the broker is down the deliveries stay due, and the relay (beat, every minute) queues
them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from notifications.kinds import Kind, kinds_of
from notifications.models import Channel, Delivery, Subscription
from notifications.payloads import event_payload
from portal import queues

logger = logging.getLogger(__name__)
NOTIFY_QUEUE = queues.NOTIFY


def offer(event: AuditEvent) -> None:
    kinds = {k.key for k in kinds_of(event.action, event.details or {})}
    if not kinds or not _anyone_wants(kinds):
        return
    pk = event.pk
    transaction.on_commit(lambda: _fan_out_safely(pk))


def _anyone_wants(kinds: set[str]) -> bool:
    # A handful of subscriptions at most per operator and endpoint: read them all.
    return any(
        kinds & set(wanted) for wanted in Subscription.objects.values_list("kinds", flat=True)
    )


def _fan_out_safely(event_pk: int) -> None:
    # After the commit, in the request or task that acted: nothing here may fail it.
    try:
        event = AuditEvent.objects.filter(pk=event_pk).first()
        if event is not None:
            fan_out(event)
    except Exception:
        logger.exception("Could not fan out audit event %s to subscriptions", event_pk)


def _resource_id(event: AuditEvent) -> str:
    if event.target_type == "acsresource":
        return event.target_id
    return str((event.details or {}).get("resource") or "")


def _wants(sub: Subscription, event: AuditEvent, kinds: list[Kind]) -> Kind | None:
    if sub.user and not (sub.user.is_active and sub.user.email):
        return None
    if sub.endpoint and not sub.endpoint.enabled:
        return None
    tenants = {t.pk for t in sub.tenants.all()}
    if tenants and event.tenant_id and event.tenant_id not in tenants:
        return None
    resources = {str(r.pk) for r in sub.resources.all()}
    resource = _resource_id(event)
    if resources and resource and resource not in resources:
        return None
    # The first (most specific) kind wins: "consent lost" rather than "check failing" too.
    return next((k for k in kinds if k.key in sub.kinds), None)


def fan_out(event: AuditEvent) -> list[Delivery]:
    """One delivery per subscriber that wants this event; running it again adds none."""
    kinds = kinds_of(event.action, event.details or {})
    if not kinds:
        return []
    subs = Subscription.objects.select_related("user", "endpoint").prefetch_related(
        "tenants", "resources"
    )
    made = []
    with transaction.atomic():
        for sub in subs:
            kind = _wants(sub, event, kinds)
            if kind is None:
                continue
            target: dict[str, Any] = (
                {"recipient": sub.user, "channel": Channel.EMAIL}
                if sub.user_id
                else {"endpoint": sub.endpoint, "channel": Channel.WEBHOOK}
            )
            delivery, created = Delivery.objects.get_or_create(
                event=event,
                **{k: v for k, v in target.items() if k != "channel"},
                defaults={
                    "channel": target["channel"],
                    "kind": kind.key,
                    "payload": event_payload(event, kind),
                    "next_attempt_at": timezone.now(),
                },
            )
            if created:
                made.append(delivery)
        pks = [d.pk for d in made]
        transaction.on_commit(lambda: queue(pks))
    return made


def queue(delivery_pks: list[int]) -> None:
    """Queue deliveries on the notify queue; a broker failure leaves them to the relay."""
    from notifications.tasks import deliver

    for pk in delivery_pks:
        try:
            deliver.apply_async(args=(pk,), queue=NOTIFY_QUEUE)
        except Exception:
            logger.warning("Broker unavailable; delivery %s waits for the relay", pk)
            return
