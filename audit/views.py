"""Audit pages: the log, one event, exports and reports. Read-only for every role."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.http import content_disposition_header

from audit import reports, selectors
from audit.export import csv_stream, jsonl_stream
from audit.forms import AuditFilterForm
from audit.models import AuditEvent
from audit.services import Actor, record_export
from portal.roles import ALL_ROLES, require_role

# Nobody changes anything through these pages: every POST is refused before the view runs.
readonly = require_role(read=ALL_ROLES, write=frozenset())

EXPORTS = {
    "csv": (csv_stream, "text/csv; charset=utf-8"),
    "jsonl": (jsonl_stream, "application/jsonl; charset=utf-8"),
}


def _filter_form(request) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None)


@readonly
def log(request):
    form = _filter_form(request)
    flt = form.to_filter()
    cursor = selectors.Cursor.decode(request.GET.get("cursor"))
    page = selectors.page_events(selectors.filter_events(flt), cursor)
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "filtered": bool(flt.as_params()), "cursor": cursor},
    )


@readonly
def event(request, pk: int):
    audit_event = get_object_or_404(AuditEvent, pk=pk)
    return render(request, "audit/event.html", {"event": audit_event})


def _export(request, format: str):
    render_rows, content_type = EXPORTS[format]
    flt = _filter_form(request).to_filter()
    # Recorded before streaming starts, while the request id is still set.
    record_export(actor=Actor.from_request(request), filters=flt.as_params(), format=format)
    events = selectors.filter_events(flt)
    response = StreamingHttpResponse(
        render_rows(selectors.export_rows(events)), content_type=content_type
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


@readonly
def tenant_report(request, pk: int):
    from tenants.models import CustomerTenant

    tenant = get_object_or_404(CustomerTenant, pk=pk)
    return render(request, "audit/tenant_report.html", {"report": reports.tenant_report(tenant)})


@readonly
def resource_history(request, pk: int):
    from assignments.models import AcsResource

    resource = get_object_or_404(AcsResource, pk=pk)
    return render(
        request, "audit/resource_history.html", {"history": reports.resource_sync_history(resource)}
    )
