"""Sync runs as an outbox (``portal.outbox``): a committed run always ends up with a worker.

- ``send_run`` publishes a run's task after its commit and records ``enqueued_at``; when the
  broker is unreachable the run stays queued with a message saying so.
- ``relay_sync_runs`` (the sweep the worker relay calls) sends queued runs whose task never
  reached the broker, re-sends queued runs whose message must have been lost (sent long ago,
  resource free), and replaces runs left ``running`` by a worker that went away (the lock expired
  without a heartbeat).
- ``send_queued_run`` starts a resource's queued run the moment the previous run releases the
  lock, instead of when the queued run's "busy, try again" countdown ends.

The task is idempotent (a finished run is not run again, and the lock keeps one run per
resource), so a task sent twice costs a message, never a second sync.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from assignments.models import SyncRun, SyncStatus
from portal import outbox

log = logging.getLogger(__name__)
WAITING_FOR_BROKER = (
    "Waiting for the task queue, which cannot be reached; the sync starts as soon as it is back."
)


def send_run(run_id: int, *, countdown: float = 0, previous: datetime | None = None) -> bool:
    """Claim the sending of queued run ``run_id`` and publish it. True when it was sent.

    ``previous`` is the ``enqueued_at`` the caller saw: the claim is a conditional UPDATE on it,
    so of several relays (and the request that queued the run) one sends.
    """
    from assignments.tasks import run_sync

    now = timezone.now()
    claimed = SyncRun.objects.filter(
        pk=run_id, status=SyncStatus.QUEUED, enqueued_at=previous
    ).update(enqueued_at=now)
    if not claimed:
        return False
    if outbox.publish(run_sync, kwargs={"run_id": run_id}, countdown=countdown):
        SyncRun.objects.filter(pk=run_id, message=WAITING_FOR_BROKER).update(message="")
        return True
    SyncRun.objects.filter(pk=run_id, enqueued_at=now).update(
        enqueued_at=None, message=WAITING_FOR_BROKER
    )
    return False


def retry_starts_at(queued_at: datetime) -> datetime:
    """When a follow-up ("retry") run queued at ``queued_at`` is due."""
    return queued_at + timedelta(seconds=settings.ACS_SYNC_RETRY_DELAY_SECONDS)


def send_queued_run(resource_id: int) -> bool:
    """Start the resource's queued run now (the lock was just released).

    A follow-up run retrying transient failures keeps its delay: the resource needs the time.
    """
    run = (
        SyncRun.objects.filter(resource_id=resource_id, status=SyncStatus.QUEUED)
        .values_list("pk", "enqueued_at", "trigger", "queued_at")
        .first()
    )
    if not run:
        return False
    pk, previous, trigger, queued_at = run
    countdown = 0.0
    if trigger == "retry":
        if previous is not None:
            return False  # its message is in the broker, due when the delay ends
        countdown = max(0.0, (retry_starts_at(queued_at) - timezone.now()).total_seconds())
    return send_run(pk, previous=previous, countdown=countdown)


def relay_sync_runs() -> int:
    """The relay's sweep for sync runs; returns how many tasks it sent."""
    from assignments.services import replace_abandoned_run

    now = timezone.now()
    lock = timedelta(seconds=settings.ACS_SYNC_LOCK_SECONDS)
    locked = Q(resource__sync_locked_until__gt=now)
    sent = 0
    # Running without a live lock: its worker died (a live run's heartbeat keeps the lock).
    abandoned = SyncRun.objects.filter(status=SyncStatus.RUNNING, started_at__lt=now - lock / 8)
    for run_id in abandoned.exclude(locked).values_list("pk", flat=True):
        replacement = replace_abandoned_run(run_id=run_id)
        log.info(
            "Sync run #%s lost its worker; replaced by run #%s",
            run_id,
            replacement and replacement.pk,
        )
        # A new successor was sent on commit; one that joined a queued run waiting out a
        # "busy" countdown is started now (one never sent is picked up just below).
        if replacement is not None and replacement.enqueued_at is not None:
            sent += send_run(replacement.pk, previous=replacement.enqueued_at)
    never_sent = Q(enqueued_at__isnull=True)
    lost = Q(enqueued_at__lt=now - 2 * lock) & ~locked
    # A follow-up run's message waits out its delay in the broker; it is not lost meanwhile.
    delay = timedelta(seconds=settings.ACS_SYNC_RETRY_DELAY_SECONDS)
    lost &= ~Q(trigger="retry", enqueued_at__gte=now - 2 * lock - delay)
    waiting = SyncRun.objects.filter(never_sent | lost, status=SyncStatus.QUEUED)
    for run_id, previous in waiting.values_list("pk", "enqueued_at")[:100]:
        sent += send_run(run_id, previous=previous)
    return sent
