"""Reports built from the audit log and the rows it talks about (read-only queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.functional import Promise

from audit.actions import Action
from audit.charts import Chart, Series, stacked_bars
from audit.models import AuditEvent

TIMELINE_LIMIT = 500
SYNC_RUN_LIMIT = 50
SYNC_EVENT_LIMIT = 200
CHART_DAYS = 14

CONSENT_ATTEMPTS = {
    Action.CONSENT_REDIRECTED,
    Action.CONSENT_GRANTED,
    Action.CONSENT_DECLINED,
    Action.CONSENT_FAILED,
    Action.CONSENT_CALLBACK_REJECTED,
}
CHECKS = {Action.CONSENT_VERIFIED, Action.CONSENT_CHECK_FAILED}


@dataclass
class TenantReport:
    tenant: object
    events: list[AuditEvent]
    truncated: bool
    assignments: list
    consent_attempts: int
    checks: int
    registered_at: datetime
    verified_at: datetime | None


def tenant_report(tenant) -> TenantReport:
    """The onboarding of ``tenant`` from registration on: consent and tenant events in order,
    and its current assignments. Three queries."""
    from assignments.models import Assignment

    rows = list(
        AuditEvent.objects.filter(tenant_id=tenant.pk)
        .filter(Q(action__startswith="consent.") | Q(action__startswith="tenant."))
        .order_by("at", "id")[: TIMELINE_LIMIT + 1]
    )
    events = rows[:TIMELINE_LIMIT]
    verified_at = next((e.at for e in events if e.action == Action.CONSENT_VERIFIED), None)
    created_at = next(
        (e.at for e in events if e.action == Action.TENANT_CREATED), tenant.created_at
    )
    assignments = list(
        Assignment.objects.filter(tenant_id=tenant.pk)
        .select_related("resource")
        .order_by("resource__name", "principal_type", "display_name")[:TIMELINE_LIMIT]
    )
    return TenantReport(
        tenant=tenant,
        events=events,
        truncated=len(rows) > TIMELINE_LIMIT,
        assignments=assignments,
        consent_attempts=sum(e.action in CONSENT_ATTEMPTS for e in events),
        checks=sum(e.action in CHECKS for e in events),
        registered_at=created_at,
        verified_at=verified_at,
    )


@dataclass
class TimelineDay:
    day: object
    events: list[AuditEvent]


def group_by_day(events: list[AuditEvent]) -> list[TimelineDay]:
    """Consecutive events of the same (UTC) day together, in the order given."""
    days: list[TimelineDay] = []
    for event in events:
        day = event.at.astimezone(UTC).date()
        if not days or days[-1].day != day:
            days.append(TimelineDay(day, []))
        days[-1].events.append(event)
    return days


_STATUS_LABELS: dict[str, str | Promise] = {}  # lazy: read in the language of each call


def _status_label(value: str) -> str:
    if not _STATUS_LABELS:
        from tenants.models import TenantStatus

        _STATUS_LABELS.update(TenantStatus.choices)
    return str(_STATUS_LABELS.get(value, value))


def event_summary(event: AuditEvent) -> str:
    """One line saying what the event's details add, in words (status moves, errors, the
    resource and principal of an assignment); "" when there is nothing to add."""
    details = event.details if isinstance(event.details, dict) else {}
    parts = []
    status = details.get("status")
    if isinstance(status, dict) and status.get("from") != status.get("to"):
        parts.append(
            f"{_status_label(status.get('from', ''))} → {_status_label(status.get('to', ''))}"
        )
    for key, label in (
        ("resource", "resource "),
        ("principal_type", ""),
        ("object_id", "object id "),
        ("error", "error "),
        ("error_code", "error "),
    ):
        value = details.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            parts.append(f"{label}{value}")
    return " · ".join(parts)


@dataclass
class SyncHistory:
    resource: object
    runs: list = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)


def resource_sync_history(resource) -> SyncHistory:
    """The latest sync runs of ``resource`` and the ``sync.*`` events about it or its runs."""
    from assignments.models import SyncRun

    runs = list(
        SyncRun.objects.filter(resource_id=resource.pk).order_by("-queued_at", "-id")[
            :SYNC_RUN_LIMIT
        ]
    )
    about = Q(target_type="acsresource", target_id=str(resource.pk)) | Q(
        target_type="syncrun", target_id__in=[str(run.pk) for run in runs]
    )
    events = list(
        AuditEvent.objects.filter(about, action__startswith="sync.")
        .defer("details")
        .order_by("-at", "-id")[:SYNC_EVENT_LIMIT]
    )
    return SyncHistory(resource=resource, runs=runs, events=events)


ONBOARDING_SERIES = (
    Series(Action.CONSENT_GRANTED, "Consent granted", "#1565c0"),
    Series(Action.CONSENT_VERIFIED, "Verified", "#2e7d32"),
    Series(Action.CONSENT_DECLINED, "Declined", "#ef6c00"),
    Series(Action.CONSENT_FAILED, "Consent failed", "#c62828"),
    Series(Action.CONSENT_CHECK_FAILED, "Check failed", "#6a1b9a"),
)
SYNC_SERIES = (
    Series("succeeded", "Succeeded", "#2e7d32"),
    Series("partial", "Partially failed", "#ef6c00"),
    Series("failed", "Failed", "#c62828"),
)


def _days(today) -> list:
    return [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]


def onboarding_chart(now: datetime | None = None) -> Chart:
    """Consent outcomes and verification results per day over the last two weeks."""
    now = timezone.localtime(now or timezone.now())
    days = _days(now.date())
    start = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    rows = (
        AuditEvent.objects.filter(at__gte=start, action__in=[s.key for s in ONBOARDING_SERIES])
        .annotate(day=TruncDate("at"))
        .values_list("day", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(day, action): n for day, action, n in rows}
    return stacked_bars("Onboarding outcomes per day", days, ONBOARDING_SERIES, counts)


def sync_chart(now: datetime | None = None) -> Chart:
    """Finished sync runs per day and outcome over the last two weeks."""
    from assignments.models import SyncRun

    now = timezone.localtime(now or timezone.now())
    days = _days(now.date())
    start = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    rows = (
        SyncRun.objects.filter(finished_at__gte=start)
        .annotate(day=TruncDate("finished_at"))
        .values_list("day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(day, status): n for day, status, n in rows}
    return stacked_bars("Sync runs per day", days, SYNC_SERIES, counts)


def sync_run_counts() -> list[dict]:
    from assignments.models import SyncRun, SyncStatus

    labels = dict(SyncStatus.choices)
    rows = SyncRun.objects.values_list("status").annotate(n=Count("id")).order_by("status")
    return [{"status": s, "label": labels.get(s, s), "count": n} for s, n in rows]
