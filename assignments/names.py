"""Display names of users, groups and tenants, read through Microsoft Graph and cached.

The console shows "Name (object id)" wherever it shows a principal: assignments, sync failures,
drift entries, audit rows. A name comes from, in this order:

1. what the portal already holds: the name stored on an assignment or drift entry when it was
   known at write time (picked in the search, looked up for a CSV row), a tenant's customer
   groups, the registered tenants;
2. Django's cache (``remember`` puts names there as soon as the portal learns them);
3. Microsoft Graph (``tenants.graph``: ``get_user``, ``get_group``, ``get_organization``), read
   with the operator app in the principal's tenant, then cached.

Graph is only asked about principals of tenants registered in the portal (the operator app has
no access elsewhere), at most ``GRAPH_BUDGET`` times per page, and not again for a while about
a tenant whose directory failed to answer: a page never waits on many slow Graph calls. An
unknown name renders as the object id alone.

Names come from a customer's directory and are hostile input: ``tenants.names.clean_name``
strips control characters and caps the length before they are stored or cached, and the
template filter escapes them (``format_html``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache

from assignments.models import Assignment, DriftEntry, PrincipalType
from tenants.models import CustomerGroup, CustomerTenant
from tenants.names import clean_name

log = logging.getLogger(__name__)

NAME_TTL = 6 * 3600  # seconds a name read from Graph is trusted
MISSING_TTL = 15 * 60  # a principal Graph says does not exist
TENANT_DOWN_TTL = 60  # a tenant whose directory failed: no Graph read for it meanwhile
GRAPH_BUDGET = 10  # Graph reads per page (each is one round trip)
GRAPH_SECONDS = 2.0  # a page waits at most this long for them
MISSING = "\x00"  # cached marker: Graph answered "no such principal"

Key = tuple[str, str, str]  # (principal type, tenant id, object id)


def _canonical(value: object) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value or "").strip().lower()


def _cache_key(kind: str, tenant_id: str, object_id: str) -> str:
    return f"names:v1:{kind}:{_canonical(tenant_id)}:{_canonical(object_id)}"


def remember(*, kind: str, tenant_id: object, object_id: object, name: str) -> str:
    """Cache ``name`` for a principal the portal just learned about; returns it cleaned."""
    cleaned = clean_name(name)
    if cleaned:
        cache.set(_cache_key(kind, str(tenant_id), str(object_id)), cleaned, NAME_TTL)
    return cleaned


def forget(*, kind: str, tenant_id: object, object_id: object) -> None:
    cache.delete(_cache_key(kind, str(tenant_id), str(object_id)))


def _graph_name(kind: str, tenant_id: str, object_id: str) -> str | None:
    """The name Graph gives; "" when the principal does not exist; raises GraphError."""
    from tenants import graph

    if kind == PrincipalType.TENANT:
        return graph.get_organization(tenant_id=tenant_id).display_name
    if kind == PrincipalType.GROUP:
        group = graph.get_group(tenant_id=tenant_id, group_id=object_id)
        return group.display_name if group else ""
    user = graph.get_user(tenant_id=tenant_id, id_or_upn=object_id)
    if user is None:
        return ""
    return user.display_name or user.user_principal_name


@dataclass
class NameBook:
    """Names for one page: collect every principal shown (``want``), then ``resolve`` once.

    ``graph=False`` answers from the portal's data and the cache only (exports, the API).
    """

    graph: bool = True
    budget: int = GRAPH_BUDGET
    seconds: float = GRAPH_SECONDS

    def __post_init__(self) -> None:
        self.wanted: set[Key] = set()
        self.names: dict[Key, str] = {}

    def want(self, kind: str, tenant_id: object, object_id: object) -> Key:
        key = (
            kind if kind in PrincipalType.values else PrincipalType.USER,
            _canonical(tenant_id),
            _canonical(object_id),
        )
        if key[0] == PrincipalType.TENANT:
            key = (key[0], key[2] or key[1], key[2] or key[1])
        self.wanted.add(key)
        return key

    def name(self, kind: str, tenant_id: object, object_id: object) -> str:
        """The resolved name ("" when unknown); resolves pending principals first."""
        key = self.want(kind, tenant_id, object_id)
        if key not in self.names:
            self.resolve()
        return self.names.get(key, "")

    def resolve(self) -> dict[Key, str]:
        pending = [k for k in self.wanted if k not in self.names]
        if not pending:
            return self.names
        self._from_portal(pending)
        pending = [k for k in pending if not self.names.get(k)]
        self._from_cache(pending)
        pending = [k for k in pending if k not in self.names]
        if self.graph and pending:
            self._from_graph(pending)
        for key in pending:
            self.names.setdefault(key, "")
        return self.names

    # --- sources ------------------------------------------------------------------------
    def _from_portal(self, keys: list[Key]) -> None:
        oids = {oid for _, _, oid in keys}
        tenants = {
            str(t.tenant_id): t.display_name
            for t in CustomerTenant.objects.filter(tenant_id__in=_uuids(oids))
        }
        uuids = _uuids(oids)
        known: dict[str, str] = {}
        for model in (Assignment, DriftEntry, CustomerGroup):
            rows = model.objects.filter(object_id__in=uuids).exclude(display_name="")
            for object_id, name in rows.values_list("object_id", "display_name").order_by():
                known.setdefault(str(object_id), name)
        for key in keys:
            kind, _, oid = key
            found = (tenants if kind == PrincipalType.TENANT else known).get(oid)
            if found:
                self.names[key] = clean_name(found)

    def _from_cache(self, keys: list[Key]) -> None:
        found = cache.get_many([_cache_key(*k) for k in keys])
        for key in keys:
            value = found.get(_cache_key(*key))
            if value is not None:
                self.names[key] = "" if value == MISSING else value

    def _from_graph(self, keys: list[Key]) -> None:
        """Ask Graph on a few threads; use what answers within ``seconds``.

        A read still running then (Graph retrying a 429 after its Retry-After) finishes in the
        background and caches its name for the next page; this page shows the object id.
        """
        registered = {
            str(t)
            for t in CustomerTenant.objects.filter(
                tenant_id__in=_uuids({tid for _, tid, _ in keys})
            ).values_list("tenant_id", flat=True)
        }
        down = cache.get_many([_down_key(tid) for tid in registered])
        asked = [k for k in sorted(keys) if k[1] in registered and _down_key(k[1]) not in down][
            : self.budget
        ]
        futures = {_POOL.submit(_read_and_cache, key): key for key in asked}
        done, _ = concurrent.futures.wait(futures, timeout=self.seconds)
        for future in done:
            name = future.result()
            if name is not None:
                self.names[futures[future]] = name


def _read_and_cache(key: Key) -> str | None:
    """Graph's name for ``key``, cached ("" when it does not exist); None when Graph failed."""
    from tenants.graph import GraphError

    kind, tenant_id, oid = key
    try:
        name = clean_name(_graph_name(kind, tenant_id, oid))
    except GraphError as exc:
        log.info("names: Graph could not name %s %s in %s: %s", kind, oid, tenant_id, exc)
        cache.set(_down_key(tenant_id), 1, TENANT_DOWN_TTL)
        return None
    except Exception:  # a page must render whatever a directory answers
        log.exception("names: reading %s %s in %s failed", kind, oid, tenant_id)
        return None
    cache.set(_cache_key(*key), name or MISSING, NAME_TTL if name else MISSING_TTL)
    return name


# Shared by every request of the process: at most this many Graph name reads at once.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="names")


def _down_key(tenant_id: str) -> str:
    return f"names:v1:down:{tenant_id}"


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(value))
        except ValueError:
            continue
    return result


def display_name(kind: str, tenant_id: object, object_id: object, *, graph: bool = True) -> str:
    """One principal's name ("" when unknown). For many, use a ``NameBook``."""
    return NameBook(graph=graph).name(kind, tenant_id, object_id)


def name_assignments(assignments: Iterable[Assignment], *, graph: bool = True) -> None:
    """Fill in ``display_name`` (in memory) of assignments stored without one."""
    rows = [a for a in assignments if not a.display_name]
    if not rows:
        return
    book = NameBook(graph=graph)
    for a in rows:
        book.want(a.principal_type, a.tenant.tenant_id, a.object_id)
    for a in rows:
        a.display_name = book.name(a.principal_type, a.tenant.tenant_id, a.object_id)
