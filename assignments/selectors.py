"""Reads for the assignment pages: filtered lists, counts, CSV export, run progress."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from typing import Any

from django.db.models import Count, Q, QuerySet

from assignments.models import Assignment, PrincipalType, SyncRun, SyncState, SyncStatus

CSV_COLUMNS = ["principal_type", "object_id", "tenant_id", "client_ids"]
EXPORT_COLUMNS = [*CSV_COLUMNS, "display_name", "desired", "sync_state", "last_synced_at"]


def assignment_list(
    *,
    resource=None,
    tenant=None,
    principal_type: str = "",
    sync_state: str = "",
    q: str = "",
) -> QuerySet[Assignment]:
    qs = Assignment.objects.select_related("tenant", "resource")
    if resource is not None:
        qs = qs.filter(resource=resource)
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    if principal_type in PrincipalType.values:
        qs = qs.filter(principal_type=principal_type)
    if sync_state in SyncState.values:
        qs = qs.filter(sync_state=sync_state)
    elif sync_state == "absent":
        qs = qs.filter(desired="absent")
    if q:
        text = Q(display_name__icontains=q) | Q(tenant__display_name__icontains=q)
        with contextlib.suppress(ValueError):
            text |= Q(object_id=uuid.UUID(q.strip()))
        qs = qs.filter(text)
    return qs.order_by("principal_type", "display_name", "object_id")


def counts(qs: QuerySet[Assignment]) -> dict[str, Any]:
    """Totals by sync state and by principal type for the filter bar."""
    by_state = dict(qs.order_by().values_list("sync_state").annotate(n=Count("id")))
    by_type = dict(qs.order_by().values_list("principal_type").annotate(n=Count("id")))
    return {
        "total": sum(by_state.values()),
        "states": [(v, label, by_state.get(v, 0)) for v, label in SyncState.choices],
        "types": [(v, label, by_type.get(v, 0)) for v, label in PrincipalType.choices],
        "absent": qs.filter(desired="absent").count(),
    }


def assignments_csv(qs: QuerySet[Assignment]) -> str:
    """The assignments as CSV; the first four columns are the import format."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for a in qs.iterator(chunk_size=2000):
        writer.writerow(
            [
                a.principal_type,
                str(a.object_id),
                str(a.tenant.tenant_id),
                ";".join(a.client_ids),
                _safe_cell(a.display_name),
                a.desired,
                a.sync_state,
                a.last_synced_at.isoformat() if a.last_synced_at else "",
            ]
        )
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from running a display name as a formula."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def run_progress(run: SyncRun) -> dict[str, Any]:
    """The JSON the run page polls (``static/js/portal.js`` contract)."""
    finished = run.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)
    return {
        "fields": {
            "status": run.get_status_display(),
            "progress": run.progress_percent,
            "percent": f"{run.progress_percent}%",
            "done": run.done,
            "planned": run.planned,
            "created": run.created,
            "updated": run.updated,
            "deleted": run.deleted,
            "unchanged": run.unchanged,
            "failed": run.failed,
            "drift": run.drift,
            "restored": run.restored,
            "message": run.message,
            "wait": run.wait_text,
        },
        "done": finished,
        "reload": finished,
    }
