"""Reading the audit log: filters, keyset pages, export batches and the per-tenant report.

Pages are keyset-paginated on ``(at, id)`` in descending order, so the cost of a page does not
depend on how deep it is, and nothing counts the whole table.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent

PAGE_SIZE = 50
EXPORT_BATCH = 2000
# Tenant names matching a search are resolved to ids first (one small query), so the event
# query can use the (tenant, at, id) index; beyond this many matches the search is too vague.
MAX_TENANT_MATCHES = 200

EXPORT_COLUMNS = (
    "id",
    "at",
    "actor_type",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "tenant_id",
    "tenant_label",
    "ip",
    "request_id",
    "details",
)


@dataclass(frozen=True)
class EventFilter:
    """What an auditor asked for. Empty fields do not filter."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""
    actor_type: str = ""
    action: str = ""  # an action, or a group such as "consent." (every consent action)
    tenant: str = ""  # portal id, Entra tenant id, or part of the tenant's name or domain
    target_type: str = ""
    target_id: str = ""
    q: str = ""  # part of the actor, target or tenant label
    request_id: str = ""

    def as_params(self) -> dict[str, str]:
        """The non-empty filters as strings (query string, export audit details)."""
        params = {}
        for name, value in asdict(self).items():
            if isinstance(value, datetime):
                value = value.isoformat()
            if value:
                params[name] = str(value)
        return params


def _tenant_ids(text: str) -> list[int]:
    from tenants.models import CustomerTenant

    text = text.strip()
    if text.isdigit():
        return [int(text)]
    tenants = CustomerTenant.objects.all()
    try:
        tenants = tenants.filter(tenant_id=uuid.UUID(text))
    except ValueError:
        tenants = tenants.filter(
            Q(display_name__icontains=text) | Q(primary_domain__icontains=text)
        )
    return list(tenants.order_by("pk").values_list("pk", flat=True)[:MAX_TENANT_MATCHES])


def filter_events(flt: EventFilter, events: QuerySet | None = None) -> QuerySet:
    """Audit events matching ``flt`` (unordered; pages and exports order them)."""
    events = AuditEvent.objects.all() if events is None else events
    if flt.since:
        events = events.filter(at__gte=flt.since)
    if flt.until:
        events = events.filter(at__lt=flt.until)
    if flt.actor:
        events = events.filter(actor_label=flt.actor.strip())
    if flt.actor_type:
        events = events.filter(actor_type=flt.actor_type)
    if flt.action.endswith("."):
        events = events.filter(action__startswith=flt.action)
    elif flt.action:
        events = events.filter(action=flt.action)
    if flt.tenant:
        events = events.filter(tenant_id__in=_tenant_ids(flt.tenant))
    if flt.target_type:
        events = events.filter(target_type=flt.target_type)
    if flt.target_id:
        events = events.filter(target_id=flt.target_id.strip())
    if flt.request_id:
        events = events.filter(request_id=flt.request_id.strip())
    if flt.q:
        q = flt.q.strip()
        events = events.filter(
            Q(target_label__icontains=q)
            | Q(actor_label__icontains=q)
            | Q(tenant_label__icontains=q)
        )
    return events


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


def page_events(events: QuerySet, cursor: Cursor | None, size: int = PAGE_SIZE) -> Page:
    """One page of ``events``, newest first, after (or before) ``cursor``. One query."""
    events = events.defer("details")
    if cursor is not None and cursor.direction == "prev":
        rows = list(_newer_than(events, cursor.at, cursor.id).order_by("at", "id")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            next_cursor=Cursor("next", rows[-1].at, rows[-1].pk).encode() if rows else None,
            prev_cursor=Cursor("prev", rows[0].at, rows[0].pk).encode() if more_newer else None,
        )
    if cursor is not None:
        events = _older_than(events, cursor.at, cursor.id)
    rows = list(events.order_by("-at", "-id")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        next_cursor=Cursor("next", rows[-1].at, rows[-1].pk).encode() if more_older else None,
        prev_cursor=(
            Cursor("prev", rows[0].at, rows[0].pk).encode() if cursor is not None and rows else None
        ),
    )


def export_rows(
    events: QuerySet, batch: int = EXPORT_BATCH, *, oldest_first: bool = False
) -> Iterator[list[tuple]]:
    """Every row of ``events`` as tuples of ``EXPORT_COLUMNS``, newest first, in batches
    (``details`` as JSON text).

    Keyset batches: each is one short indexed query, so memory stays at one batch and no
    transaction or server-side cursor is held open while a slow client downloads.
    """
    order, after = (("at", "id"), _newer_than) if oldest_first else (("-at", "-id"), _older_than)
    # ``details`` comes as the database's JSON text: decoding and re-encoding every row would
    # be most of the export's time.
    columns = [Cast("details", TextField()) if c == "details" else c for c in EXPORT_COLUMNS]
    events = events.order_by(*order).values_list(*columns)
    rows = list(events[:batch])
    while rows:
        yield rows
        if len(rows) < batch:
            return
        last = rows[-1]
        rows = list(after(events, last[1], last[0])[:batch])


def get_event(pk: int) -> AuditEvent:
    return AuditEvent.objects.get(pk=pk)
