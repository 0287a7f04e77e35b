"""Celery tasks: thin wrappers that load by id and call the sync service."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=200)
def run_sync(self, run_id: int) -> str:
    """Reconcile the resource of SyncRun ``run_id``; wait and retry while another run holds it."""
    from assignments.sync import reconcile_resource

    outcome = reconcile_resource(run_id=run_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=min(outcome.retry_in, 60))
    return outcome.status


@shared_task(acks_late=True)
def sync_all_resources() -> int:
    """Beat: queue a periodic run for every enabled resource, except one with a run queued or
    running, or synced (by any trigger) within the interval; nothing while another pass of this
    sweep is still queueing (portal/sweeps.py). Returns how many were queued."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from assignments.models import AcsResource, SyncRun, SyncStatus
    from assignments.services import queue_periodic_syncs
    from portal import metrics, sweeps

    interval = timedelta(minutes=settings.SYNC_INTERVAL_MINUTES)
    if not sweeps.begin("sync", interval=interval):
        return 0
    try:
        synced_since = timezone.now() - sweeps.done_within(interval)
        runs = SyncRun.objects.filter(resource=OuterRef("pk"))
        busy = runs.filter(status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING])
        recent = runs.filter(finished_at__gte=synced_since)
        due = AcsResource.objects.exclude(Exists(busy)).exclude(Exists(recent))
        queued = queue_periodic_syncs(due)
    finally:
        sweeps.finish("sync")
    enabled = AcsResource.objects.filter(enabled=True).count()
    metrics.sweep_items("sync", queued=queued, skipped=enabled - queued)
    return queued
