"""Celery tasks of the audit app (thin: they call services)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="audit.tasks.apply_retention")
def apply_retention() -> dict:
    """Beat, daily: archive and delete events older than ``AUDIT_RETENTION_DAYS``."""
    from audit.services import apply_retention as apply

    result = apply()
    return {"archived": result.archived, "deleted": result.deleted, "archive": result.archive}
