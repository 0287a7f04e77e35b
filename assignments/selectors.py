"""Reads for the assignment pages: filtered lists, counts, CSV export, run progress."""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from assignments.models import (
    Assignment,
    PrincipalType,
    SyncRun,
    SyncState,
    SyncStatus,
)

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


@dataclass(frozen=True)
class RunState:
    """What the run page says, worded so it never contradicts itself."""

    phase: str  # queued | running | waiting | finished
    status: str  # the headline: "Queued", "Running", "Succeeded · 3 drift to review" …
    detail: str  # one sentence under it
    started: str
    finished: str
    wait: str
    wait_seconds: int
    drift_open: int
    retryable: int


def _stamp(value: datetime | None, missing: str) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else missing


def run_state(run: SyncRun) -> RunState:
    now = timezone.now()
    drift_open = run.resource.drift.filter(remove_requested=False).count()
    retryable = run.resource.assignments.filter(sync_state=SyncState.FAILED).count()
    wait, wait_text, wait_seconds = run.waiting, "", 0
    if run.status == SyncStatus.QUEUED:
        phase, status = "queued", "Queued"
        ago = int((now - run.queued_at).total_seconds())
        if run.enqueued_at is None:
            detail = run.message or "Waiting for the task queue; the run is sent when it answers."
        else:
            detail = f"Waiting for a worker to start it (queued {ago} s ago)."
        started = "not yet (queued)"
    elif run.status == SyncStatus.RUNNING:
        started = _stamp(run.started_at, "just now")
        if wait:
            phase, status = "waiting", "Running · waiting to retry"
            wait_seconds = max(1, int((wait[0] - now).total_seconds() + 0.999))
            wait_text = f"Waiting {wait_seconds} s before retrying: {wait[1]}"
            detail = (
                "The resource is throttling or failing; the run resumes by itself after the wait."
            )
        else:
            phase, status = "running", "Running"
            detail = (
                ngettext(
                    "%(done)d of %(planned)d change sent.",
                    "%(done)d of %(planned)d changes sent.",
                    run.planned,
                )
                % {"done": run.done, "planned": run.planned}
                if run.planned
                else "Reading the resource."
            )
    else:
        phase, started = "finished", _stamp(run.started_at, "never (it did not start)")
        status, detail = run.get_status_display(), run.message
        if run.status == SyncStatus.SUCCEEDED:
            if drift_open:
                plural = "s" if drift_open != 1 else ""
                status = f"Succeeded · {drift_open} remote assignment{plural} to review"
                detail = (
                    "Every change the portal made reached the resource, but the resource also "
                    "holds assignments the portal did not make (drift)."
                )
            else:
                status = "Succeeded · In sync"
    finished = _stamp(run.finished_at, "not yet")
    return RunState(
        phase, status, detail, started, finished, wait_text, wait_seconds, drift_open, retryable
    )


def failures(run: SyncRun) -> list[dict[str, Any]]:
    """The run's failures, each with the principal's name and tenant where the portal knows."""
    from assignments import names

    errors = list(run.errors or [])
    oids = set()
    for e in errors:
        with contextlib.suppress(ValueError, TypeError):
            oids.add(uuid.UUID(str(e.get("object_id"))))
    rows = {
        str(a.object_id): a
        for a in Assignment.objects.filter(resource=run.resource_id, object_id__in=oids)
        .select_related("tenant")
        .only(
            "object_id",
            "principal_type",
            "display_name",
            "tenant__tenant_id",
            "tenant__display_name",
        )
    }
    drift = {str(d.object_id): d for d in run.resource.drift.filter(object_id__in=oids)}
    book = names.NameBook()
    keyed = []
    for e in errors:
        oid = str(e.get("object_id", ""))
        row, entry = rows.get(oid), drift.get(oid)
        if row is not None:
            kind, tid = row.principal_type, str(row.tenant.tenant_id)
        elif entry is not None:
            kind, tid = entry.principal_type or "user", entry.tenant_id
        else:
            kind, tid = "user", ""
        keyed.append((e, oid, kind, tid, book.want(kind, tid, oid)))
    book.resolve()
    return [
        {
            **e,
            "object_id": oid,
            "kind": kind,
            "name": book.names.get(key, ""),
            "op_label": OP_LABELS.get(str(e.get("op", "")), str(e.get("op", ""))),
        }
        for e, oid, kind, tid, key in keyed
    ]


OP_LABELS = {"create": "Add", "update": "Update", "delete": "Remove"}


def run_progress(run: SyncRun) -> dict[str, Any]:
    """The JSON the run page polls (``static/js/portal.js`` contract)."""
    finished = run.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)
    state = run_state(run)
    return {
        "fields": {
            "status": state.status,
            "detail": state.detail,
            "started": state.started,
            "finished": state.finished,
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
            "wait": state.wait,
        },
        "phase": state.phase,
        "wait_seconds": state.wait_seconds,
        "done": finished,
        "reload": finished,
    }
