"""The pure part of a sync: what must change on the resource so it matches the database.

No I/O here, so every case is a unit test (tests/assignments/test_diff.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


Shape = tuple[Any, Any, tuple[Any, ...]]  # tenantId, principalType, clientIds as ACS sent them


class RemoteIndex:
    """The resource's entries as a sync needs them, about 150 bytes each.

    A listing of 100,000 entries held as the decoded JSON takes over 100 MB; here each entry is
    its object id and a reference to its shape (tenant, type and client ids), and entries that
    share a shape, as most do, share one tuple. The first of duplicate object ids counts.
    """

    def __init__(self, entries: Iterable[dict[str, Any]] = ()) -> None:
        self._entries: dict[str, Shape] = {}
        self._shapes: dict[Shape, Shape] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: dict[str, Any]) -> None:
        key = _norm(entry.get("objectId"))
        if key in self._entries:
            return
        raw = (entry.get("tenantId"), entry.get("principalType"), entry.get("clientIds"))
        shape: Shape = (raw[0], raw[1], tuple(raw[2] or ()))
        self._entries[key] = self._shapes.setdefault(shape, shape)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def pop(self, key: str) -> Shape | None:
        return self._entries.pop(key, None)

    def drain(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(object id, entry) for every entry not popped yet, in listing order; then empty."""
        for oid, (tenant_id, principal_type, client_ids) in self._entries.items():
            yield (
                oid,
                {
                    "objectId": oid,
                    "tenantId": tenant_id,
                    "principalType": principal_type,
                    "clientIds": list(client_ids),
                },
            )
        self._entries.clear()


class Differ:
    """``plan_sync`` in parts: local rows chunk by chunk (``plan``), then the rest (``finish``).

    Each local row takes its remote entry out of the index, so what is left once every local
    row was seen is what the portal does not know: drift, or an entry an operator asked to
    remove. Memory stays at the index plus one chunk, whatever the number of rows.
    """

    def __init__(self, remote: RemoteIndex, drift_removals: dict[str, int] | None = None) -> None:
        self.remote = remote
        self.removals = {_norm(k): v for k, v in (drift_removals or {}).items()}
        self._removal_seen: set[str] = set()  # removal asked and the entry still there
        self._keys: dict[tuple, tuple] = {}  # most entries share their tenant, type and clients

    def _shape_key(self, tenant_id: Any, principal_type: Any, client_ids: Any) -> tuple:
        raw = (tenant_id, principal_type, tuple(client_ids or ()))
        found = self._keys.get(raw)
        if found is None:
            found = self._keys[raw] = _key(*raw)
        return found

    def plan(self, local: Iterable[LocalRow]) -> Plan:
        plan = Plan()
        shape_key, pop = self._shape_key, self.remote.pop
        for row in local:
            oid = _norm(row.object_id)
            there = pop(oid)
            if there is not None and oid in self.removals:
                self._removal_seen.add(oid)  # known here: not removed as drift, not "gone"
            if row.present:
                if there is None:
                    plan.ops.append(Op(OpKind.CREATE, oid, row.body(), pk=row.pk))
                    if row.synced:
                        plan.restored.append(row.pk)
                    continue
                if shape_key(row.tenant_id, row.principal_type, row.client_ids) == shape_key(
                    *there
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
        return plan

    def finish(self, drift_limit: int | None = None) -> Iterator[Plan]:
        """The remote entries no local row claimed, in plans of at most ``drift_limit`` drift
        entries: deletes asked by an operator, drift, and removals already gone."""
        plan = Plan()
        for oid, entry in self.remote.drain():
            if oid in self.removals:
                self._removal_seen.add(oid)
                plan.ops.append(Op(OpKind.DELETE, oid, None, drift_pk=self.removals[oid]))
            else:
                plan.drift.append(entry)
                if drift_limit is not None and len(plan.drift) >= drift_limit:
                    yield plan
                    plan = Plan()
        plan.drift_gone = [pk for key, pk in self.removals.items() if key not in self._removal_seen]
        yield plan


def plan_sync(
    *,
    local: Iterable[LocalRow],
    remote: Iterable[dict[str, Any]],
    drift_removals: dict[str, int] | None = None,
) -> Plan:
    """Compare the database (``local``) with the resource (``remote``).

    ``drift_removals`` maps object ids of remote entries an operator asked to remove to their
    DriftEntry pk. Remote entries that are neither local nor asked to be removed are drift: they
    are reported and left alone. A sync runs the same comparison in parts (``Differ``).
    """
    differ = Differ(
        remote if isinstance(remote, RemoteIndex) else RemoteIndex(remote), drift_removals
    )
    plan = differ.plan(local)
    for rest in differ.finish():
        plan.ops.extend(rest.ops)
        plan.drift.extend(rest.drift)
        plan.drift_gone.extend(rest.drift_gone)
    return plan


def batches(ops: list[Op], size: int) -> list[list[Op]]:
    """Split into merge-patch batches; an object id appears at most once in a batch."""
    size = max(1, size)
    return [ops[i : i + size] for i in range(0, len(ops), size)]
