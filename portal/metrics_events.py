"""Metrics taken from committed audit events: a sync run's entries, counted once it is recorded
as finished (``sync.finished`` carries the run's counts), so a rolled-back run counts nothing."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from audit.actions import Action
from audit.models import AuditEvent
from portal import metrics


@receiver(post_save, sender=AuditEvent)
def _count_finished_sync(sender: type, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
    if not created or instance.action != Action.SYNC_FINISHED:
        return
    details = dict(instance.details or {})
    transaction.on_commit(
        lambda: metrics.sync_finished(status=str(details.get("status", "")), counts=details)
    )
