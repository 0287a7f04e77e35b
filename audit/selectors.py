"""Reading the audit log: keyset pages and export batches (filters: audit/filters.py).

Pages are keyset-paginated on ``(at, id)`` in descending order, so the cost of a page does not
depend on how deep it is, and nothing counts the whole table.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils.dateparse import parse_datetime

from audit.actions import Action
from audit.models import AuditEvent

PAGE_SIZE = 50
EXPORT_BATCH = 2000

# The export's columns. ``tenant_id`` is the Entra tenant id (GUID) and ``tenant_name`` the
# portal's name for it; ``action_label`` is the action as the pages show it.
EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_label",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target_label",
    "tenant_id",
    "tenant_name",
    "ip",
    "request_id",
    "details",
)
# What the database gives for them (``action_label`` is added from the action).
_QUERY_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "tenant__tenant_id",
    "tenant_name",
    "ip",
    "request_id",
    "details",
)
_ACTION_LABELS = dict(Action.choices)


# --- keyset pagination -------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the (at, id) order and the direction to read from it."""

    direction: str  # "next" (older events) or "prev" (newer events)
    at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.direction[0]}|{self.at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor in ``text``, or None when it is missing or not one of ours."""
        if not text:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            direction, at_text, id_text = raw.split("|")
            at = parse_datetime(at_text)
            if direction not in ("n", "p") or at is None or at.tzinfo is None:
                return None
            return cls("next" if direction == "n" else "prev", at, int(id_text))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None


def _older_than(events: QuerySet, at: datetime, pk: int) -> QuerySet:
    # (at, id) < (at0, id0), written so the index range starts at at0 (the redundant at__lte).
    return events.filter(at__lte=at).filter(Q(at__lt=at) | Q(id__lt=pk))


def _newer_than(events: QuerySet, at: datetime, pk: int) -> QuerySet:
    return events.filter(at__gte=at).filter(Q(at__gt=at) | Q(id__gt=pk))


@dataclass
class Page:
    events: list[AuditEvent] = field(default_factory=list)
    next_cursor: str | None = None
    prev_cursor: str | None = None


def page_events(
    events: QuerySet,
    cursor: Cursor | None,
    size: int = PAGE_SIZE,
    *,
    newest_first: bool = True,
    with_details: bool = False,
) -> Page:
    """One page of ``events`` in (at, id) order, newest first unless ``newest_first`` is
    False, after (or before) ``cursor``. One query."""
    events = (
        (events if with_details else events.defer("details"))
        .select_related("tenant", "actor")
        .annotate(
            principal_oid=KeyTextTransform("object_id", "details"),
            principal_kind=KeyTextTransform("principal_type", "details"),
        )
    )
    ahead, behind = (_older_than, _newer_than) if newest_first else (_newer_than, _older_than)
    forward = ("-at", "-id") if newest_first else ("at", "id")
    backward = ("at", "id") if newest_first else ("-at", "-id")
    if cursor is not None and cursor.direction == "prev":
        rows = list(behind(events, cursor.at, cursor.id).order_by(*backward)[: size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            next_cursor=Cursor("next", rows[-1].at, rows[-1].pk).encode() if rows else None,
            prev_cursor=Cursor("prev", rows[0].at, rows[0].pk).encode() if more_before else None,
        )
    if cursor is not None:
        events = ahead(events, cursor.at, cursor.id)
    rows = list(events.order_by(*forward)[: size + 1])
    more_ahead = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        next_cursor=Cursor("next", rows[-1].at, rows[-1].pk).encode() if more_ahead else None,
        prev_cursor=(
            Cursor("prev", rows[0].at, rows[0].pk).encode() if cursor is not None and rows else None
        ),
    )


def name_principals(events: list[AuditEvent], *, graph: bool = True) -> None:
    """Set ``principal_id`` and ``principal_name`` on the events that are about a user, group
    or tenant principal (assignment and drift events name its object id in their details), so
    a row can show "Name (object id)". Names come from ``assignments.names`` (the portal's rows,
    the cache, then Graph within its per-page budget)."""
    from assignments.names import NameBook

    book = NameBook(graph=graph)
    about = []
    for event in events:
        vars(event).update(principal_id="", principal_name="")
        oid = getattr(event, "principal_oid", None)
        if not oid:
            continue
        tenant_guid = event.tenant.tenant_id if event.tenant_id and event.tenant else ""
        kind = getattr(event, "principal_kind", None) or "user"
        about.append((event, book.want(kind, tenant_guid, oid), kind, tenant_guid, oid))
    if about:
        book.resolve()
    for event, _key, kind, tenant_guid, oid in about:
        vars(event).update(principal_id=str(oid), principal_name=book.name(kind, tenant_guid, oid))


def export_rows(
    events: QuerySet, batch: int = EXPORT_BATCH, *, oldest_first: bool = False
) -> Iterator[list[tuple]]:
    """Every row of ``events`` as tuples of ``EXPORT_COLUMNS``, newest first, in batches
    (``tenant_id`` the Entra tenant id, ``details`` as JSON text).

    Keyset batches: each is one short indexed query, so memory stays at one batch and no
    transaction or server-side cursor is held open while a slow client downloads.
    """
    order, after = (("at", "id"), _newer_than) if oldest_first else (("-at", "-id"), _older_than)
    # ``details`` comes as the database's JSON text: decoding and re-encoding every row would
    # be most of the export's time.
    # The tenant's name now (as the pages show it), or the label recorded with the event when
    # the tenant is no longer registered.
    events = events.annotate(
        tenant_name=Coalesce(
            NullIf("tenant__display_name", Value("")),
            NullIf("tenant__primary_domain", Value("")),
            "tenant_label",
        ),
        details_text=Cast("details", TextField()),
    )
    columns = ["details_text" if c == "details" else c for c in _QUERY_COLUMNS]
    events = events.order_by(*order).values_list(*columns)
    rows = list(events[:batch])
    while rows:
        yield [_with_label(row) for row in rows]
        if len(rows) < batch:
            return
        last = rows[-1]
        rows = list(after(events, last[1], last[0])[:batch])


def _with_label(row: tuple) -> tuple:
    tenant_guid = row[8]
    return (
        *row[:5],
        _ACTION_LABELS.get(row[4], row[4]),
        *row[5:8],
        "" if tenant_guid is None else str(tenant_guid),
        *row[9:],
    )


def get_event(pk: int) -> AuditEvent:
    return AuditEvent.objects.get(pk=pk)
