"""Fast arrangement of audit events for tests (bulk_create; the model only refuses updates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from audit.models import ActorType, AuditEvent

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_events(
    n: int,
    *,
    start: datetime | None = None,
    step: timedelta = timedelta(seconds=1),
    same_time_every: int = 1,
    batch: int = 5000,
    **fields,
) -> None:
    """Insert ``n`` events; ``same_time_every`` consecutive events share one timestamp."""
    start = start or timezone.now() - timedelta(days=1)
    defaults = {
        "actor_type": ActorType.SYSTEM,
        "actor_label": "system",
        "action": "tenant.created",
        "target_type": "customertenant",
        "target_id": "1",
        "target_label": "Tenant",
        "details": {"n": 0},
    }
    defaults.update(fields)
    rows = []
    for i in range(n):
        row = dict(defaults)
        row["at"] = start + step * (i // same_time_every)
        if "target_label" not in fields:
            row["target_label"] = f"Tenant {i}"
        rows.append(AuditEvent(**row))
        if len(rows) >= batch:
            AuditEvent.objects.bulk_create(rows)
            rows = []
    AuditEvent.objects.bulk_create(rows)
