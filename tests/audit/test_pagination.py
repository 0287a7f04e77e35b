"""Filters and keyset pagination: every event exactly once, in order, even with equal times."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.selectors import PAGE_SIZE, Cursor, page_events
from tenants.models import CustomerTenant

from .helpers import T0, make_events

pytestmark = pytest.mark.django_db


def _walk(events, direction="next"):
    pages, cursor = [], None
    while True:
        page = page_events(events, cursor, size=7)
        pages.append([e.pk for e in page.events])
        if not page.next_cursor:
            return pages, page
        cursor = Cursor.decode(page.next_cursor)


def _expected():
    return list(AuditEvent.objects.order_by("-at", "-id").values_list("pk", flat=True))


@pytest.mark.parametrize("same_time_every", [1, 3, 7, 10, 100])
def test_walking_forward_visits_every_event_once_in_order(same_time_every):
    # Runs of equal timestamps that straddle, match and exceed the page size.
    make_events(50, start=T0, same_time_every=same_time_every)
    pages, _ = _walk(AuditEvent.objects.all())
    flat = [pk for page in pages for pk in page]
    assert flat == _expected()
    assert all(len(p) == 7 for p in pages[:-1]) and len(pages[-1]) == 50 - 7 * (len(pages) - 1)


def test_walking_back_returns_the_same_pages():
    make_events(30, start=T0, same_time_every=4)
    events = AuditEvent.objects.all()
    forward, cursor, pages = [], None, []
    for _ in range(3):
        page = page_events(events, cursor, size=7)
        forward.append([e.pk for e in page.events])
        pages.append(page)
        cursor = Cursor.decode(page.next_cursor)
    # From the third page, "newer" gives the second, then the first (which has no newer).
    back = page_events(events, Cursor.decode(pages[2].prev_cursor), size=7)
    assert [e.pk for e in back.events] == forward[1]
    first = page_events(events, Cursor.decode(back.prev_cursor), size=7)
    assert [e.pk for e in first.events] == forward[0]
    assert first.prev_cursor is None
    assert first.next_cursor is not None


def test_an_exact_multiple_of_the_page_size_has_no_empty_last_page():
    make_events(14, start=T0, same_time_every=2)
    pages, last = _walk(AuditEvent.objects.all())
    assert [len(p) for p in pages] == [7, 7]
    assert last.next_cursor is None


def test_a_page_is_one_query_however_deep():
    make_events(40, start=T0)
    events = AuditEventFilter(queryset=AuditEvent.objects.all()).qs
    cursor = None
    for _ in range(4):
        with CaptureQueriesContext(connection) as queries:
            page = page_events(events, cursor, size=7)
        assert len(queries) == 1
        assert "COUNT(" not in queries[0]["sql"].upper()
        cursor = Cursor.decode(page.next_cursor)


def test_garbage_cursors_mean_the_first_page():
    for text in ("", "not-base64!!", "bnwxfDI=", Cursor("next", T0, 1).encode()[:-3]):
        assert Cursor.decode(text) is None or isinstance(Cursor.decode(text), Cursor)
    assert Cursor.decode("x|y|z") is None


def test_filters_combine():
    fabrikam = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Fabrikam Global")
    contoso = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Contoso")
    make_events(
        5,
        start=T0,
        tenant=fabrikam,
        tenant_label="Fabrikam Global",
        action="consent.granted",
        actor_label="dana@contoso.example",
        actor_type="operator",
    )
    make_events(
        5,
        start=T0 + timedelta(minutes=5),
        tenant=contoso,
        tenant_label="Contoso",
        action="consent.declined",
    )
    make_events(
        3,
        start=T0 + timedelta(hours=1),
        target_type="acsresource",
        target_id="9",
        target_label="Demo resource",
        action="sync.finished",
    )

    def count(**kw):
        params = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in kw.items()}
        return AuditEventFilter(params, queryset=AuditEvent.objects.all()).qs.count()

    assert count(tenant="fabrik") == 5
    assert count(tenant=str(fabrikam.tenant_id)) == 5
    assert count(tenant=str(contoso.tenant_id).upper()) == 5
    assert count(tenant=str(contoso.pk)) == 0  # the portal's own ids mean nothing to auditors
    assert count(tenant="no such tenant") == 0
    assert count(action="consent.") == 10
    assert count(action="consent.declined") == 5
    assert count(actor="dana@contoso.example") == 5
    assert count(actor_type="system") == 8
    assert count(target_type="acsresource", target_id="9") == 3
    assert count(q="demo res") == 3
    assert count(q="GLOBAL") == 5  # tenant label, case-insensitive
    assert count(since=T0 + timedelta(minutes=5)) == 8
    assert count(since=T0, until=T0 + timedelta(minutes=5)) == 5
    assert count(tenant="fabrik", action="consent.declined") == 0


def test_the_log_page_follows_cursors_and_keeps_filters(auditor_client):
    make_events(PAGE_SIZE + 5, start=T0, action="consent.granted")
    make_events(3, start=T0, action="tenant.created")
    url = reverse("audit:log")
    first = auditor_client.get(url, {"action": "consent.granted"})
    assert first.status_code == 200
    html = first.content.decode()
    assert html.count('data-action="consent.granted"') == PAGE_SIZE
    older = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "action=consent.granted" in older
    second = auditor_client.get(older).content.decode()
    assert second.count('data-action="consent.granted"') == 5
    assert "tenant.created" not in second.split("<tbody>")[1]
    assert 'rel="prev"' in second and 'rel="next"' not in second
