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
from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.models import ActorType, AuditEvent
from audit.scrub import scrub
from portal.request_context import get_request_id

RETENTION_BATCH = 5000


class Actor:
    """Who did it: an operator (user), a customer admin (tenant + IP) or the system."""

    def __init__(self, *, type: str, user=None, label: str = "", ip: str | None = None):
        self.type, self.user, self.label, self.ip = type, user, label, ip

    @classmethod
    def operator(cls, user, *, ip: str | None = None) -> Actor:
        return cls(type=ActorType.OPERATOR, user=user, label=user.email, ip=ip)

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
    with transaction.atomic():
        return AuditEvent.objects.create(
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
    archive: str  # file name under AUDIT_ARCHIVE_DIR, "" when nothing was old enough


def _write_archive(events, cutoff: datetime) -> tuple[Path | None, int, int]:
    """Write ``events`` oldest first to a gzipped JSON-lines file; return it, count, last id.

    The file is written under a temporary name and renamed when complete, so a crash never
    leaves a partial archive that looks finished.
    """
    from audit.export import jsonl_stream
    from audit.selectors import export_rows

    directory = Path(settings.AUDIT_ARCHIVE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    final = directory / f"audit-before-{cutoff:%Y%m%dT%H%M%S}-{stamp}.jsonl.gz"
    partial = final.with_suffix(".gz.partial")
    count, last_id = 0, 0

    def counted():
        nonlocal count, last_id
        for rows in export_rows(events, oldest_first=True):
            count += len(rows)
            last_id = max(last_id, max(row[0] for row in rows))
            yield rows

    with gzip.open(partial, "wt", encoding="utf-8") as archive:
        for chunk in jsonl_stream(counted()):
            archive.write(chunk)
    if not count:
        partial.unlink()
        return None, 0, 0
    os.replace(partial, final)
    return final, count, last_id


def apply_retention(*, now: datetime | None = None, days: int | None = None) -> RetentionResult:
    """Archive, then delete, audit events older than ``AUDIT_RETENTION_DAYS``; audited.

    Events are written to a gzipped JSON-lines file under ``AUDIT_ARCHIVE_DIR`` first; only the
    archived ones (``at`` before the cut-off, id up to the last archived) are then deleted, in
    batches, through ``AuditEventQuerySet._archive_delete`` (on PostgreSQL the one path the
    append-only trigger allows). One ``audit.retention_applied`` event records the counts and
    the file name. Running it again finds nothing more to do.
    """
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = AuditEvent.objects.filter(at__lt=cutoff)
    path, archived, last_id = _write_archive(old, cutoff)
    deleted = 0
    if archived:
        archived_rows = old.filter(id__lte=last_id)
        while True:
            ids = list(archived_rows.order_by("id").values_list("id", flat=True)[:RETENTION_BATCH])
            if not ids:
                break
            deleted += AuditEvent.objects.filter(id__in=ids)._archive_delete()
    result = RetentionResult(cutoff, archived, deleted, path.name if path else "")
    with transaction.atomic():
        record_event(
            actor=Actor.system("retention"),
            action=Action.AUDIT_RETENTION_APPLIED,
            target_type="auditlog",
            target_label="Audit log retention",
            details={
                "cutoff": cutoff.isoformat(),
                "retention_days": days,
                "archived": archived,
                "deleted": deleted,
                "archive": result.archive,
            },
        )
    return result
