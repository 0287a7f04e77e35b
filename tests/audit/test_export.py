"""Exports: any filtered view as CSV or JSON lines, streamed, audited, safe in spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest
from django.urls import reverse

from audit.actions import Action
from audit.export import safe_cell
from audit.models import AuditEvent

from .helpers import T0, make_events

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_export_of_a_filtered_view_is_audited_with_its_filters(auditor_client, auditor_user):
    make_events(3, start=T0, action="consent.granted", target_label="Fabrikam")
    make_events(2, start=T0, action="tenant.created", target_label="Contoso")
    response = auditor_client.get(reverse("audit:export_csv"), {"action": "consent.granted"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.DictReader(io.StringIO(_body(response))))
    assert [r["action"] for r in rows] == ["consent.granted"] * 3
    assert rows[0]["at"] > rows[-1]["at"]  # newest first
    exported = AuditEvent.objects.get(action=Action.AUDIT_EXPORTED)
    assert exported.actor_id == auditor_user.pk
    assert exported.details == {"format": "csv", "filters": {"action": "consent.granted"}}
    assert exported.request_id == response["X-Request-ID"]


def test_jsonl_export_has_one_object_per_event_with_details(auditor_client):
    make_events(4, start=T0, details={"outcome": "granted", "nested": {"a": [1, 2]}})
    lines = _body(auditor_client.get(reverse("audit:export_jsonl"), {"q": "tenant"})).splitlines()
    objects = [json.loads(line) for line in lines]
    assert len(objects) == 4
    assert objects[0]["details"] == {"outcome": "granted", "nested": {"a": [1, 2]}}
    assert set(objects[0]) >= {"at", "actor_label", "action", "target_label", "request_id"}


def test_cells_that_spreadsheets_would_run_are_neutralised(auditor_client):
    make_events(
        1,
        start=T0,
        target_label='=HYPERLINK("http://evil.example","x")',
        actor_label="+cmd|' /C calc'!A0",
        tenant_label="@SUM(1)",
    )
    rows = list(csv.reader(io.StringIO(_body(auditor_client.get(reverse("audit:export_csv"))))))
    cells = rows[-1]  # the oldest; the export's own event comes first
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'+cmd|' /C calc'!A0" in cells and "'@SUM(1)" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert safe_cell("-1") == "'-1" and safe_cell("plain") == "plain" and safe_cell(None) == ""


def test_an_empty_export_still_has_its_header(auditor_client):
    body = _body(auditor_client.get(reverse("audit:export_csv"), {"tenant": "nobody at all"}))
    assert body.splitlines() == [
        "id,at,actor_type,actor_label,action,action_label,target_type,target_id,target_label,"
        "tenant_id,tenant_name,ip,request_id,details"
    ]


# Memory bound for 100,000 events. One export batch (2,000 rows of ~12 short fields) holds well
# under 2 MB of Python objects, plus the CSV text of that batch (~0.5 MB); the whole export
# held in memory would be ~25 MB of CSV text alone and ~150 MB as rows. 20 MB leaves room for
# the test client and query machinery while failing clearly if anything accumulates the rows.
EXPORT_MEMORY_BOUND = 20 * 1024 * 1024


def _stream_peak(response) -> tuple[int, int, int]:
    """Consume the stream, keeping nothing; return bytes, lines and the traced peak."""
    tracemalloc.start()
    try:
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, lines, peak


def test_exporting_100000_events_streams_in_constant_memory(auditor_client):
    make_events(
        100_000,
        start=T0,
        same_time_every=3,
        batch=10_000,
        details={"status": "succeeded", "counts": {"created": 3, "failed": 0}},
    )
    response = auditor_client.get(reverse("audit:export_csv"))
    expected = AuditEvent.objects.count()  # with the sign-in and the export's own event
    size, lines, peak = _stream_peak(response)
    assert lines == expected + 1  # + the header
    assert size > 10 * 1024 * 1024
    assert peak < EXPORT_MEMORY_BOUND, f"peak {peak / 2**20:.1f} MiB"
    # JSON lines go through the same batches; counted without tracing (tracing is slow).
    response = auditor_client.get(reverse("audit:export_jsonl"))
    assert sum(chunk.count(b"\n") for chunk in response.streaming_content) == expected + 1
