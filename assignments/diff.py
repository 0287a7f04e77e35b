"""The pure part of a sync: what must change on the resource so it matches the database.

No I/O here, so every case is a unit test (tests/assignments/test_diff.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class OpKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class LocalRow(NamedTuple):
    """One assignment as the database wants it (``present=False``: remove it remotely).

    A named tuple, not a dataclass: a sync builds one per assignment (10,000 and more).
    """

    pk: int
    object_id: str
    principal_type: str
    tenant_id: str
    client_ids: tuple[str, ...]
    present: bool
    synced: bool = False  # the last sync put it on the resource as it is here

    def body(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "principalType": self.principal_type,
            "clientIds": list(self.client_ids),
        }


class Op(NamedTuple):
    """One change to send. ``pk`` is the Assignment, ``drift_pk`` a DriftEntry (removal)."""

    kind: OpKind
    object_id: str
    body: dict[str, Any] | None
    pk: int | None = None
    drift_pk: int | None = None


@dataclass
class Plan:
    ops: list[Op] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # present and equal remotely
    gone: list[int] = field(default_factory=list)  # absent here and remotely: forget the row
    drift: list[dict[str, Any]] = field(default_factory=list)  # remote, unknown here
    drift_gone: list[int] = field(default_factory=list)  # removal asked, already gone remotely
    # Synced rows whose remote entry was removed or changed outside the portal: restored.
    restored: list[int] = field(default_factory=list)

    def count(self, kind: OpKind) -> int:
        return sum(1 for op in self.ops if op.kind == kind)


def _norm(value: Any) -> str:
    return str(value or "").strip().lower()


def _key(tenant_id: Any, principal_type: Any, client_ids: Any) -> tuple:
    """What must match for an entry to be unchanged, whatever the case and order."""
    return (_norm(tenant_id), _norm(principal_type), tuple(sorted(_norm(c) for c in client_ids)))


def plan_sync(
    *,
    local: Iterable[LocalRow],
    remote: Iterable[dict[str, Any]],
    drift_removals: dict[str, int] | None = None,
) -> Plan:
    """Compare the database (``local``) with the resource (``remote``).

    ``drift_removals`` maps object ids of remote entries an operator asked to remove to their
    DriftEntry pk. Remote entries that are neither local nor asked to be removed are drift: they
    are reported and left alone.
    """
    remote_by_id: dict[str, dict[str, Any]] = {}
    for entry in remote:
        remote_by_id.setdefault(_norm(entry.get("objectId")), entry)
    removals = {_norm(k): v for k, v in (drift_removals or {}).items()}
    plan = Plan()
    known: set[str] = set()
    keys: dict[tuple, tuple] = {}  # most entries share their tenant, type and client ids

    def key(tenant_id: Any, principal_type: Any, client_ids: Any) -> tuple:
        raw = (tenant_id, principal_type, tuple(client_ids or ()))
        if raw not in keys:
            keys[raw] = _key(*raw)
        return keys[raw]

    for row in local:
        oid = _norm(row.object_id)
        known.add(oid)
        there = remote_by_id.get(oid)
        if row.present:
            if there is None:
                plan.ops.append(Op(OpKind.CREATE, oid, row.body(), pk=row.pk))
                if row.synced:
                    plan.restored.append(row.pk)
                continue
            if key(row.tenant_id, row.principal_type, row.client_ids) == key(
                there.get("tenantId"), there.get("principalType"), there.get("clientIds")
            ):
                plan.unchanged.append(row.pk)
            else:
                plan.ops.append(Op(OpKind.UPDATE, oid, row.body(), pk=row.pk))
                if row.synced:
                    plan.restored.append(row.pk)
        elif there is None:
            plan.gone.append(row.pk)
        else:
            plan.ops.append(Op(OpKind.DELETE, oid, None, pk=row.pk))
    for oid, entry in remote_by_id.items():
        if oid in known:
            continue
        if oid in removals:
            plan.ops.append(Op(OpKind.DELETE, oid, None, drift_pk=removals[oid]))
        else:
            plan.drift.append(entry)
    plan.drift_gone = [pk for oid, pk in removals.items() if oid not in remote_by_id]
    return plan


def batches(ops: list[Op], size: int) -> list[list[Op]]:
    """Split into merge-patch batches; an object id appears at most once in a batch."""
    size = max(1, size)
    return [ops[i : i + size] for i in range(0, len(ops), size)]
