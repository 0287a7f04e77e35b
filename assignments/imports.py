"""CSV import of assignments: validate every row, preview, then apply all or nothing.

Format (header required; extra columns such as the export's are ignored):
``principal_type,object_id,tenant_id,client_ids`` — ``object_id`` may be a user's UPN (looked up
in Graph), is optional for ``tenant`` rows, and ``client_ids`` are separated by ``;`` (empty: the
operator app).

An optional ``desired`` column (``present`` / ``absent``, as the export writes it) or ``action``
column (``add`` / ``remove``) marks rows to remove: such a row needs only the principal and its
tenant (which need not be verified any more), and removing what is not assigned changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import ngettext

from assignments.models import AcsResource, Assignment, Desired, SyncState
from assignments.selectors import CSV_COLUMNS
from assignments.services import (
    AssignmentError,
    Principal,
    check_principal,
    find_user,
    parse_client_ids,
    queue_sync_after_change,
)
from audit.actions import Action
from audit.services import Actor, record_event
from tenants.models import CustomerTenant, TenantStatus

MAX_ROWS = 20000
ALIASES = {"object_id_or_upn": "object_id", "upn": "object_id", "type": "principal_type"}


@dataclass
class ImportRow:
    line: int
    raw: dict[str, str]
    action: str = ""  # add | update | remove | unchanged
    error: str = ""
    tenant: CustomerTenant | None = None
    principal: Principal | None = None
    client_ids: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    problem: str = ""  # a problem with the whole file

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [r for r in self.rows if r.error]

    @property
    def ok(self) -> bool:
        return not self.problem and bool(self.rows) and not self.bad_rows

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action and not r.error)

    @property
    def count_remove(self) -> int:
        return self.count("remove")

    @property
    def summary(self) -> str:
        """ "3 to add, 1 to update, 2 to remove, 0 unchanged" (the preview's callout)."""
        parts = [f"{self.count('add')} to add", f"{self.count('update')} to update"]
        if self.count_remove:
            parts.append(f"{self.count_remove} to remove")
        parts.append(f"{self.count('unchanged')} unchanged")
        return ", ".join(parts)


class ImportRejected(AssignmentError):
    def __init__(self, preview: ImportPreview) -> None:
        bad = len(preview.bad_rows)
        super().__init__(
            preview.problem
            or ngettext("%(count)d row is not valid.", "%(count)d rows are not valid.", bad)
            % {"count": bad}
        )
        self.preview = preview


def preview_import(*, resource: AcsResource, text: str) -> ImportPreview:
    """Check every row; nothing is written. Each bad row carries its line number and reason."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(reader)]
    except StopIteration:
        return ImportPreview([], problem="The file is empty.")
    except csv.Error as exc:
        return ImportPreview([], problem=f"The file is not CSV: {exc}")
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return ImportPreview(
            [],
            problem=f"The header must name {', '.join(CSV_COLUMNS)}; missing {', '.join(missing)}.",
        )
    rows: list[ImportRow] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                return ImportPreview(rows, problem=f"At most {MAX_ROWS} rows per file.")
            raw = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
            rows.append(ImportRow(line=reader.line_num, raw=raw))
    except csv.Error as exc:
        return ImportPreview(rows, problem=f"Line {reader.line_num} is not valid CSV: {exc}")
    if not rows:
        return ImportPreview([], problem="The file has a header but no rows.")
    _validate(resource, rows)
    return ImportPreview(rows)


def _validate(resource: AcsResource, rows: list[ImportRow]) -> None:
    tenant_ids = set()
    for row in rows:
        with contextlib.suppress(ValueError):
            tenant_ids.add(uuid.UUID(row.raw.get("tenant_id", "")))
    tenants = {t.tenant_id: t for t in CustomerTenant.objects.filter(tenant_id__in=tenant_ids)}
    existing = {
        str(a.object_id): a
        for a in Assignment.objects.filter(resource=resource).select_related("tenant")
    }
    seen: dict[str, int] = {}
    for row in rows:
        try:
            _validate_row(row, tenants, existing, seen)
        except AssignmentError as exc:
            row.error = str(exc)


REMOVE_WORDS = {"absent": True, "remove": True, "delete": True, "present": False, "add": False}


def wants_removal(raw: dict[str, str]) -> bool:
    """Whether the row's ``desired`` or ``action`` column asks for a removal."""
    for column in ("desired", "action"):
        value = raw.get(column, "").strip().lower()
        if not value:
            continue
        if value not in REMOVE_WORDS:
            raise AssignmentError(
                f"{column} {value!r} is not one of "
                + ("present, absent." if column == "desired" else "add, remove.")
            )
        return REMOVE_WORDS[value]
    return False


def _validate_row(row: ImportRow, tenants: dict, existing: dict, seen: dict[str, int]) -> None:
    ptype = row.raw.get("principal_type", "").lower()
    try:
        tenant_uuid = uuid.UUID(row.raw.get("tenant_id", ""))
    except ValueError:
        raise AssignmentError(f"Tenant id {row.raw.get('tenant_id')!r} is not a GUID.") from None
    tenant = tenants.get(tenant_uuid)
    if tenant is None:
        raise AssignmentError(f"Tenant {tenant_uuid} is not registered in the portal.")
    if wants_removal(row.raw):
        _validate_removal(row, tenant, ptype, existing, seen)
        return
    if tenant.status != TenantStatus.VERIFIED:
        raise AssignmentError(f"{tenant} is {tenant.get_status_display().lower()}, not verified.")
    object_id = row.raw.get("object_id", "")
    if ptype == "user" and "@" in object_id:
        row.principal = find_user(tenant=tenant, id_or_upn=object_id)
    else:
        row.principal = check_principal(tenant=tenant, principal_type=ptype, object_id=object_id)
    row.tenant = tenant
    row.client_ids = parse_client_ids(row.raw.get("client_ids", ""))
    oid = row.principal.object_id
    if oid in seen:
        raise AssignmentError(f"Object id {oid} is also on line {seen[oid]}.")
    seen[oid] = row.line
    current = existing.get(oid)
    if current is None:
        row.action = "add"
    elif current.tenant_id != tenant.pk:
        raise AssignmentError(f"{oid} is already assigned here for {current.tenant}.")
    elif current.desired == Desired.PRESENT and sorted(current.client_ids) == sorted(
        row.client_ids
    ):
        row.action = "unchanged"
    else:
        row.action = "update"


def _validate_removal(
    row: ImportRow, tenant: CustomerTenant, ptype: str, existing: dict, seen: dict[str, int]
) -> None:
    """A row to remove: its principal (no customer-group or verification rule), and whether
    it is assigned here at all."""
    object_id = row.raw.get("object_id", "")
    if ptype == "user" and "@" in object_id:
        row.principal = find_user(tenant=tenant, id_or_upn=object_id)
    elif ptype == "tenant":
        row.principal = check_principal(tenant=tenant, principal_type=ptype, object_id=object_id)
    elif ptype in ("user", "group"):
        try:
            oid = str(uuid.UUID(object_id.strip()))
        except ValueError:
            raise AssignmentError(f"{object_id!r} is not an object id (GUID).") from None
        row.principal = Principal(ptype, oid, "")
    else:
        raise AssignmentError("The principal type must be user, group or tenant.")
    row.tenant = tenant
    oid = row.principal.object_id
    if oid in seen:
        raise AssignmentError(f"Object id {oid} is also on line {seen[oid]}.")
    seen[oid] = row.line
    current = existing.get(oid)
    if current is not None and current.tenant_id != tenant.pk:
        raise AssignmentError(f"{oid} is assigned here for {current.tenant}, not {tenant}.")
    if current is None or current.desired == Desired.ABSENT:
        row.action = "unchanged"  # nothing to remove: a file can be applied twice
    else:
        row.action = "remove"
        row.principal = Principal(
            current.principal_type, oid, current.display_name or row.principal.display_name
        )
        row.client_ids = list(current.client_ids)


UPSERT_BATCH = 1000
# What an imported row sets on an assignment that exists (created_at, created_by, adopted and
# the last sync's time stay).
UPSERT_FIELDS = [
    "tenant",
    "principal_type",
    "display_name",
    "client_ids",
    "desired",
    "sync_state",
    "last_error",
    "updated_at",
]


def apply_import(
    *, actor: Actor, resource: AcsResource, text: str, filename: str = ""
) -> ImportPreview:
    """Validate again and apply every row in one transaction, or raise ImportRejected."""
    preview = preview_import(resource=resource, text=text)
    if not preview.ok:
        raise ImportRejected(preview)
    with transaction.atomic():
        removals = [
            row.principal.object_id
            for row in preview.rows
            if row.action == "remove" and row.principal is not None
        ]
        for start in range(0, len(removals), 5000):
            Assignment.objects.filter(
                resource=resource, object_id__in=removals[start : start + 5000]
            ).update(desired=Desired.ABSENT, sync_state=SyncState.PENDING, last_error="")
        # One upsert per batch, on the (resource, object id) constraint: a file of 10,000 rows
        # was 10,000 update_or_create calls (a savepoint, a locking read and a write each).
        # An update keeps who created the row, whether it was adopted, and its sync history.
        wanted = [
            Assignment(
                resource=resource,
                object_id=row.principal.object_id,
                tenant=row.tenant,
                principal_type=row.principal.principal_type,
                display_name=row.principal.display_name[:256],
                client_ids=row.client_ids,
                desired=Desired.PRESENT,
                sync_state=SyncState.PENDING,
                last_error="",
                created_by=actor.user,
            )
            for row in preview.rows
            if row.action not in ("unchanged", "remove")
            and row.principal is not None
            and row.tenant is not None  # both set by _validate_row for every valid row
        ]
        Assignment.objects.bulk_create(
            wanted,
            batch_size=UPSERT_BATCH,
            update_conflicts=True,
            unique_fields=["resource", "object_id"],
            update_fields=UPSERT_FIELDS,
        )
        record_event(
            actor=actor,
            action=Action.ASSIGNMENT_IMPORTED,
            target=resource,
            details={
                "file": filename[:200],
                "rows": len(preview.rows),
                "added": preview.count("add"),
                "updated": preview.count("update"),
                "unchanged": preview.count("unchanged"),
                "removed": preview.count("remove"),
            },
        )
        if preview.count("add") or preview.count("update") or preview.count("remove"):
            queue_sync_after_change(resource, actor.user)
    return preview
