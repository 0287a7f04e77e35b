"""Writing audit events. Services call ``record_event`` inside their own transaction."""

from __future__ import annotations

import gzip
import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from audit.actions import Action
from audit.models import ActorType, AuditEvent, RetentionBatch
from audit.scrub import scrub
from notifications.dispatch import offer as notifications_offer
from portal.request_context import get_request_id

RETENTION_BATCH = 5000


class Actor:
    """Who did it: an operator (user), a customer admin (tenant + IP) or the system.

    ``api_token``: the operator acted through this API token (``api.ApiToken``); every event
    then names it in ``details["api_access"]``.
    """

    def __init__(
        self, *, type: str, user=None, label: str = "", ip: str | None = None, api_token=None
    ):
        self.type, self.user, self.label, self.ip = type, user, label, ip
        self.api_token = api_token

    @classmethod
    def operator(cls, user, *, ip: str | None = None) -> Actor:
        return cls(type=ActorType.OPERATOR, user=user, label=user.email, ip=ip)

    @classmethod
    def api(cls, user, *, api_token, ip: str | None = None) -> Actor:
        return cls(type=ActorType.OPERATOR, user=user, label=user.email, ip=ip, api_token=api_token)

    @classmethod
    def customer_admin(cls, *, tenant_label: str, ip: str | None = None) -> Actor:
        return cls(type=ActorType.CUSTOMER_ADMIN, label=f"customer-admin ({tenant_label})", ip=ip)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls.operator(request.user, ip=client_ip(request))


def client_ip(request) -> str | None:
    """The client's address, as rate limits and the audit log see it.

    ``REMOTE_ADDR``; behind ``TRUSTED_PROXY_COUNT`` reverse proxies, the address the outermost
    of them saw, read from ``X-Forwarded-For`` counted from the right (entries further left are
    the client's own claims and are ignored).
    """
    count = settings.TRUSTED_PROXY_COUNT
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    if count and len(hops) >= count:
        try:
            return str(ipaddress.ip_address(hops[-count]))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    actor: Actor,
    action: Action | str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    tenant=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event. ``details`` is scrubbed of secrets before it is stored.

    Call inside the caller's ``transaction.atomic()`` so the event and the change it records
    commit or roll back together.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}; add it to audit.actions.Action.")
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)
    if actor.api_token is not None:
        token = actor.api_token
        details = {
            **(details or {}),
            "api_access": {"id": token.pk, "name": token.name, "prefix": token.prefix},
        }
    with transaction.atomic():
        event = AuditEvent.objects.create(
            at=timezone.now(),
            actor_type=actor.type,
            actor=actor.user,
            actor_label=actor.label[:254],
            action=str(action),
            target_type=target_type[:40],
            target_id=str(target_id)[:64],
            target_label=str(target_label)[:300],
            tenant=tenant,
            tenant_label=str(tenant)[:300] if tenant is not None else "",
            details=scrub(details or {}),
            ip=actor.ip,
            request_id=get_request_id() or "",
        )
        # Committed events are offered to notification subscriptions (notifications/dispatch.py).
        notifications_offer(event)
    return event


def record_export(*, actor: Actor, filters: dict[str, str], format: str) -> AuditEvent:
    """Record that ``actor`` exported the events matching ``filters`` as ``format``."""
    with transaction.atomic():
        return record_event(
            actor=actor,
            action=Action.AUDIT_EXPORTED,
            target_type="auditlog",
            target_label=f"Audit log export ({format})",
            details={"format": format, "filters": filters},
        )


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    archived: int
    deleted: int
    archive: str  # the last archive file written under AUDIT_ARCHIVE_DIR, "" when none
    archives: tuple[str, ...] = ()


def _batch_events(batch: RetentionBatch):
    return AuditEvent.objects.filter(
        id__gte=batch.first_id, id__lte=batch.last_id, at__lt=batch.cutoff
    )


def _write_archive(batch: RetentionBatch) -> int:
    """Write the batch's events, oldest first, to its gzipped JSON-lines file; return how many.

    Written under a temporary name and renamed when complete, so a file with the final name is
    always whole; a batch whose file exists (a run killed before the delete) is not written
    again.
    """
    from audit.export import jsonl_stream
    from audit.selectors import export_rows

    directory = Path(settings.AUDIT_ARCHIVE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / batch.archive
    if final.exists():
        return _batch_events(batch).count()
    partial = final.with_suffix(".gz.partial")
    count = 0

    def counted():
        nonlocal count
        for rows in export_rows(_batch_events(batch), oldest_first=True):
            count += len(rows)
            yield rows

    with gzip.open(partial, "wt", encoding="utf-8") as archive:
        for chunk in jsonl_stream(counted()):
            archive.write(chunk)
    os.replace(partial, final)
    return count


def _delete_archived(batch: RetentionBatch) -> int:
    """Delete exactly the batch's events: on PostgreSQL through ``audit_delete_archived``, the
    one path the portal's role has (audit/db_roles.py); elsewhere through the ORM."""
    connection = connections[AuditEvent.objects.db]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT audit_delete_archived(%s)", [batch.pk])
            return int(cursor.fetchone()[0])
    return _batch_events(batch)._archive_delete()


def _finish_batch(batch: RetentionBatch, days: int) -> tuple[int, int]:
    """Archive (unless already archived), then delete and audit in one transaction."""
    archived = _write_archive(batch)
    with transaction.atomic():
        deleted = _delete_archived(batch)
        RetentionBatch.objects.filter(pk=batch.pk).update(
            archived=archived, deleted=deleted, deleted_at=timezone.now()
        )
        _record_retention(batch.cutoff, days, archived, deleted, batch.archive, batch=batch)
    return archived, deleted


def _record_retention(cutoff, days, archived, deleted, archive, batch=None) -> None:
    details = {
        "cutoff": cutoff.isoformat(),
        "retention_days": days,
        "archived": archived,
        "deleted": deleted,
        "archive": archive,
    }
    if batch is not None:
        details |= {"batch": batch.pk, "first_id": batch.first_id, "last_id": batch.last_id}
    record_event(
        actor=Actor.system("retention"),
        action=Action.AUDIT_RETENTION_APPLIED,
        target_type="auditlog",
        target_label="Audit log retention",
        details=details,
    )


def apply_retention(*, now: datetime | None = None, days: int | None = None) -> RetentionResult:
    """Archive, then delete, audit events older than ``AUDIT_RETENTION_DAYS``; audited.

    Works in batches of ``RETENTION_BATCH`` events. Each batch is first recorded
    (``RetentionBatch``: id range, cut-off, file name), then written to its gzipped JSON-lines
    file under ``AUDIT_ARCHIVE_DIR``, then deleted in the same transaction as its
    ``audit.retention_applied`` event (counts, file, id range). A run killed at any point leaves
    every deletion audited; the next run first finishes the batches left open, with their own
    rows and files, so no event is archived twice. A run with nothing to do records one event
    with zero counts.
    """
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    archived = deleted = 0
    archives: list[str] = []
    for batch in RetentionBatch.objects.filter(deleted_at__isnull=True).order_by("id"):
        a, d = _finish_batch(batch, days)
        archived, deleted = archived + a, deleted + d
        archives.append(batch.archive)
    old = AuditEvent.objects.filter(at__lt=cutoff).order_by("id")
    while ids := list(old.values_list("id", flat=True)[:RETENTION_BATCH]):
        stamp = f"{cutoff:%Y%m%dT%H%M%S}"
        batch = RetentionBatch.objects.create(
            created_at=timezone.now(),
            cutoff=cutoff,
            first_id=ids[0],
            last_id=ids[-1],
            archive=f"audit-before-{stamp}-{ids[0]:012d}-{ids[-1]:012d}.jsonl.gz",
        )
        a, d = _finish_batch(batch, days)
        archived, deleted = archived + a, deleted + d
        archives.append(batch.archive)
    if not archives:
        with transaction.atomic():
            _record_retention(cutoff, days, 0, 0, "")
    return RetentionResult(
        cutoff, archived, deleted, archives[-1] if archives else "", tuple(archives)
    )
