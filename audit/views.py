"""Audit pages: the log, one event, exports and reports. Read-only for every role."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header

from audit import reports, selectors
from audit.export import csv_stream, jsonl_stream
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.services import Actor, record_export
from portal.roles import ALL_ROLES, require_role

# Nobody changes anything through these pages: every POST is refused before the view runs.
readonly = require_role(read=ALL_ROLES, write=frozenset())

EXPORTS = {
    "csv": (csv_stream, "text/csv; charset=utf-8"),
    "jsonl": (jsonl_stream, "application/jsonl; charset=utf-8"),
}


def _filters(request) -> AuditEventFilter:
    return AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.all())


@readonly
def log(request):
    filters = _filters(request)
    cursor = selectors.Cursor.decode(request.GET.get("cursor"))
    page = selectors.page_events(filters.qs, cursor, newest_first=filters.newest_first)
    selectors.name_principals(page.events)
    params = filters.clean_params()
    params.pop("ordering", None)
    return render(
        request,
        "audit/log.html",
        {
            "form": filters.form,
            "page": page,
            "filtered": bool(params),
            "cursor": cursor,
            "newest_first": filters.newest_first,
        },
    )


@readonly
def event(request, pk: int):
    audit_event = get_object_or_404(AuditEvent, pk=pk)
    return render(request, "audit/event.html", {"event": audit_event})


def _export(request, format: str):
    render_rows, content_type = EXPORTS[format]
    filters = _filters(request)
    # Recorded before streaming starts, while the request id is still set.
    record_export(actor=Actor.from_request(request), filters=filters.clean_params(), format=format)
    events = filters.qs
    response = StreamingHttpResponse(
        render_rows(selectors.export_rows(events, oldest_first=not filters.newest_first)),
        content_type=content_type,
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"audit-{stamp}.{format}"
    )
    response["Cache-Control"] = "no-store"
    return response


@readonly
def export_csv(request):
    return _export(request, "csv")


@readonly
def export_jsonl(request):
    return _export(request, "jsonl")


REPORT_TENANTS = 25


@readonly
def reports_index(request):
    """What reports exist and where: per-tenant onboarding reports and timelines (searched),
    per-resource sync histories, the log's exports and the charts."""
    from assignments.models import AcsResource
    from tenants.filters import TenantFilter
    from tenants.models import CustomerTenant

    tenant_filter = TenantFilter(request.GET or None, queryset=CustomerTenant.objects.all())
    tenants = list(tenant_filter.qs[: REPORT_TENANTS + 1])
    return render(
        request,
        "audit/reports.html",
        {
            "tenant_form": tenant_filter.form,
            "tenants": tenants[:REPORT_TENANTS],
            "more_tenants": len(tenants) > REPORT_TENANTS,
            "resources": AcsResource.objects.order_by("name"),
            "onboarding_chart": reports.onboarding_chart(),
            "sync_chart": reports.sync_chart(),
        },
    )


@readonly
def tenant_report(request, pk: int):
    from tenants.models import CustomerTenant

    tenant = get_object_or_404(CustomerTenant, pk=pk)
    return render(request, "audit/tenant_report.html", {"report": reports.tenant_report(tenant)})


@readonly
def tenant_timeline(request, pk: int):
    """Every audit event of one tenant, newest first, by day, in words."""
    from tenants.models import CustomerTenant

    tenant = get_object_or_404(CustomerTenant, pk=pk)
    cursor = selectors.Cursor.decode(request.GET.get("cursor"))
    page = selectors.page_events(
        AuditEvent.objects.filter(tenant_id=tenant.pk), cursor, with_details=True
    )
    selectors.name_principals(page.events)
    return render(
        request,
        "audit/tenant_timeline.html",
        {
            "tenant": tenant,
            "page": page,
            "cursor": cursor,
            "days": reports.group_by_day(page.events),
        },
    )


@readonly
def resource_history(request, pk: int):
    from assignments.models import AcsResource

    resource = get_object_or_404(AcsResource, pk=pk)
    return render(
        request, "audit/resource_history.html", {"history": reports.resource_sync_history(resource)}
    )
