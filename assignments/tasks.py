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
    """Beat: queue a periodic run for every enabled resource that has none queued."""
    from assignments.services import queue_periodic_syncs

    return queue_periodic_syncs()
