"""Everything that changes ACS resources, assignments, drift and sync requests.

Each service is keyword-only, runs in one transaction and writes one audit event. Changes to
assignments queue a debounced sync run (one queued run per resource); the sync itself lives in
``assignments.sync``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from assignments import acs
from assignments.models import (
    AcsResource,
    Assignment,
    AuthMethod,
    Desired,
    DriftEntry,
    PrincipalType,
    SyncRun,
    SyncState,
    SyncStatus,
)
from audit.actions import Action
from audit.services import Actor, record_event
from portal import outbound
from tenants.models import CustomerTenant, TenantStatus


class AssignmentError(Exception):
    """A change the rules refuse; the message is meant for the operator."""


# --- resources ----------------------------------------------------------------------------
RESOURCE_FIELDS = ("name", "endpoint", "auth_method", "key_env_var", "enabled")


def _check_resource(*, auth_method: str, key_env_var: str) -> None:
    """The key variable must be named for key auth, and be one of the declared names (so the
    answer never says whether another variable exists)."""
    if auth_method == AuthMethod.ACCESS_KEY and not key_env_var:
        raise AssignmentError("Name the environment variable that holds the access key.")
    if key_env_var and not acs.key_env_var_allowed(key_env_var):
        raise AssignmentError(
            f"The access key variable is not one the portal may read. {acs.key_env_var_rule()}"
        )


def _check_endpoint(endpoint: str) -> str:
    """The endpoint's origin if it is an allowed ACS host (``acs.check_endpoint``)."""
    try:
        return acs.check_endpoint(endpoint)
    except acs.AcsConfigError as exc:
        raise AssignmentError(f"Endpoint refused: {exc.message}") from None


def create_resource(
    *,
    actor: Actor,
    name: str,
    endpoint: str,
    auth_method: str = AuthMethod.ACCESS_KEY,
    key_env_var: str = "",
    enabled: bool = True,
) -> AcsResource:
    """Register an ACS resource. The key itself is never given to the portal, only its name.

    An administrator's decision (the views allow admins only): the endpoint receives the
    operator app's credentials.
    """
    _check_resource(auth_method=auth_method, key_env_var=key_env_var)
    origin = _check_endpoint(endpoint)
    with transaction.atomic():
        resource = AcsResource.objects.create(
            name=name,
            endpoint=origin,
            auth_method=auth_method,
            key_env_var=key_env_var,
            enabled=enabled,
        )
        record_event(
            actor=actor,
            action=Action.RESOURCE_CREATED,
            target=resource,
            details={f: getattr(resource, f) for f in RESOURCE_FIELDS},
        )
    return resource


def update_resource(*, actor: Actor, resource: AcsResource, **changes) -> AcsResource:
    """Change a resource's settings (``RESOURCE_FIELDS`` only).

    A changed endpoint or key variable is checked as on creation; unchanged ones are left as
    they are (a resource made before a rule existed can still be disabled or renamed).
    """
    unknown = set(changes) - set(RESOURCE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown resource fields: {sorted(unknown)}")
    merged = {f: changes.get(f, getattr(resource, f)) for f in RESOURCE_FIELDS}
    if merged["key_env_var"] != resource.key_env_var or not merged["key_env_var"]:
        _check_resource(auth_method=merged["auth_method"], key_env_var=merged["key_env_var"])
    if merged["endpoint"].rstrip("/") != resource.endpoint:
        merged["endpoint"] = _check_endpoint(merged["endpoint"])
    with transaction.atomic():
        before = {f: getattr(resource, f) for f in RESOURCE_FIELDS}
        for name, value in merged.items():
            setattr(resource, name, value)
        resource.save()
        diff = {f: [before[f], getattr(resource, f)] for f in before if before[f] != merged[f]}
        record_event(actor=actor, action=Action.RESOURCE_UPDATED, target=resource, details=diff)
    return resource


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    detail: str


def test_resource_connection(*, actor: Actor, resource: AcsResource) -> ConnectionTest:
    """Read the first page of assignments with the resource's credentials and say how it went."""
    try:
        with acs.client_for(resource, max_attempts=2, timeout=10) as client:
            first = next(iter(client.list_assignments()), None)
        result = ConnectionTest(
            True,
            "Connected: the resource accepted the credentials"
            + (" and listed its assignments." if first else "; it has no assignments yet."),
        )
    except acs.AcsConfigError as exc:
        result = ConnectionTest(False, f"Connection failed: {exc.message}")
    except acs.AcsError as exc:
        # No HTTP answer: one message for a closed port, a non-HTTP service or a timeout, so
        # the page tells nothing about what listens there (the log has the detail).
        detail = outbound.UNREACHABLE if exc.status is None else str(exc)
        if exc.request_id:
            detail += f" (x-ms-request-id {exc.request_id})"
        result = ConnectionTest(False, f"Connection failed: {detail}")
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.RESOURCE_TESTED,
            target=resource,
            details={"ok": result.ok, "detail": result.detail},
        )
    return result


# --- sync requests --------------------------------------------------------------------------
def _queue_sync(
    *, resource: AcsResource, trigger: str, user=None, countdown: float = 0
) -> tuple[SyncRun, bool]:
    """The resource's queued run, or a new one whose task is sent once the transaction commits.

    The run row is the outbox (``assignments.outbox``): if the broker cannot be reached after
    the commit, the run stays queued, says so, and a worker's relay sends it when it can.
    """
    from assignments import outbox

    AcsResource.objects.filter(pk=resource.pk).update(sync_requested_at=timezone.now())
    queued = SyncRun.objects.filter(resource=resource, status=SyncStatus.QUEUED).first()
    if queued:
        return queued, False
    run = SyncRun.objects.create(resource=resource, trigger=trigger, requested_by=user)
    transaction.on_commit(lambda: outbox.send_run(run.pk, countdown=countdown))
    return run, True


def queue_sync_after_change(resource: AcsResource, user=None) -> None:
    """Debounced: join the queued run, or queue one that starts after a short delay.

    A step of the services that change assignments (here, in assignments/imports.py and in
    tenant offboarding): their own audit event records the change.
    """
    _queue_sync(
        resource=resource,
        trigger="change",
        user=user,
        countdown=settings.ACS_SYNC_DEBOUNCE_SECONDS,
    )


def _queue_sync_now(*, resource: AcsResource, trigger: str, user=None) -> tuple[SyncRun, bool]:
    """The resource's queued run (sent now if it was waiting out a retry delay), or a new one."""
    from assignments import outbox

    run, created = _queue_sync(resource=resource, trigger=trigger, user=user)
    if run.trigger == "retry":
        # Joining a follow-up run that waits out its delay: the operator wants it now.
        SyncRun.objects.filter(pk=run.pk).update(trigger=trigger, requested_by=user)
        run.trigger = trigger
        previous = run.enqueued_at
        transaction.on_commit(lambda: outbox.send_run(run.pk, previous=previous))
    return run, created


def request_sync(*, actor: Actor, resource: AcsResource, trigger: str = "manual") -> SyncRun:
    """ "Sync now": the queued run of the resource, or a new one."""
    with transaction.atomic():
        run, created = _queue_sync_now(resource=resource, trigger=trigger, user=actor.user)
        record_event(
            actor=actor,
            action=Action.SYNC_QUEUED,
            target=resource,
            details={"run": run.pk, "trigger": trigger, "new": created},
        )
    return run


def queue_periodic_syncs(resources=None) -> int:
    """Beat: a periodic run for each enabled resource (of ``resources``, default all) without
    one queued. Returns how many."""
    count = 0
    for resource in (resources if resources is not None else AcsResource.objects).filter(
        enabled=True
    ):
        with transaction.atomic():
            run, created = _queue_sync(resource=resource, trigger="periodic")
            if created:
                record_event(
                    actor=Actor.system("beat"),
                    action=Action.SYNC_QUEUED,
                    target=resource,
                    details={"run": run.pk, "trigger": "periodic", "new": True},
                )
        count += created
    return count


def replace_abandoned_run(*, run_id: int) -> SyncRun | None:
    """Mark a run whose worker went away (running, lock expired) failed and queue its successor.

    Called by the outbox relay. None when the run is no longer abandoned (another relay or a
    new run took it over first). The successor joins the resource's queued run if there is one.
    """
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.select_related("resource").filter(pk=run_id).first()
        taken = (
            SyncRun.objects.filter(pk=run_id, status=SyncStatus.RUNNING)
            .exclude(resource__sync_locked_until__gt=now)
            .update(
                status=SyncStatus.FAILED,
                finished_at=now,
                message="Stopped: the worker running it went away; a new run was queued.",
            )
        )
        if run is None or not taken:
            return None
        successor, created = _queue_sync(resource=run.resource, trigger="recovery")
        record_event(
            actor=Actor.system("sync"),
            action=Action.SYNC_QUEUED,
            target=run.resource,
            details={
                "run": successor.pk,
                "trigger": "recovery",
                "new": created,
                "replaces": run.pk,
            },
        )
    return successor


# --- assignments --------------------------------------------------------------------------
def parse_client_ids(values: list[str] | str | None) -> list[str]:
    """Client ids as canonical GUID strings; empty means the operator app."""
    if isinstance(values, str):
        values = values.replace(",", ";").split(";")
    cleaned = [v.strip() for v in values or [] if v and v.strip()]
    if not cleaned:
        if not settings.ENTRA_CLIENT_ID:
            raise AssignmentError("Give at least one client id (ENTRA_CLIENT_ID is not set).")
        cleaned = [settings.ENTRA_CLIENT_ID]
    result = []
    for value in cleaned:
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            raise AssignmentError(f"Client id {value!r} is not a GUID.") from None
        if canonical not in result:
            result.append(canonical)
    return result


@dataclass(frozen=True)
class Principal:
    """A resolved principal: what the portal will send to ACS."""

    principal_type: str
    object_id: str
    display_name: str


def check_principal(
    *, tenant: CustomerTenant, principal_type: str, object_id: str, display_name: str = ""
) -> Principal:
    """Validate a principal of ``tenant`` against the portal's own data (no Graph call)."""
    if principal_type not in PrincipalType.values:
        raise AssignmentError("The principal type must be user, group or tenant.")
    if principal_type == PrincipalType.TENANT:
        if object_id and object_id.strip().lower() != str(tenant.tenant_id):
            raise AssignmentError("A tenant assignment's object id is the tenant id.")
        return Principal(principal_type, str(tenant.tenant_id), display_name or str(tenant))
    try:
        oid = str(uuid.UUID(object_id.strip()))
    except (ValueError, AttributeError):
        raise AssignmentError(f"{object_id!r} is not an object id (GUID).") from None
    if principal_type == PrincipalType.GROUP:
        group = tenant.groups.filter(object_id=oid).first()
        if group is None:
            raise AssignmentError(
                f"Group {oid} is not one of {tenant}'s customer groups; add it on the tenant first."
            )
        display_name = group.display_name
    return Principal(principal_type, oid, display_name)


def find_user(*, tenant: CustomerTenant, id_or_upn: str) -> Principal:
    """A user of ``tenant`` by object id or UPN, looked up in Graph."""
    from tenants import graph

    query = (id_or_upn or "").strip()
    if not query:
        raise AssignmentError("Give the user's object id or UPN.")
    try:
        user = graph.get_user(tenant_id=str(tenant.tenant_id), id_or_upn=query)
    except graph.GraphError as exc:
        raise AssignmentError(f"Graph could not look up {query}: {exc}") from exc
    if user is None:
        raise AssignmentError(f"{tenant} has no user {query}.")
    return Principal(
        PrincipalType.USER, str(uuid.UUID(user.id)), user.display_name or user.user_principal_name
    )


def check_tenant(tenant: CustomerTenant, *, override: bool) -> bool:
    """True when the override is needed (and given); raises when it is needed and missing."""
    if tenant.status == TenantStatus.VERIFIED:
        return False
    if tenant.status in (TenantStatus.OFFBOARDING, TenantStatus.OFFBOARDED):  # no override
        raise AssignmentError(f"{tenant} is {tenant.get_status_display().lower()}: no new access.")
    if not override:
        raise AssignmentError(
            f"{tenant} is {tenant.get_status_display().lower()}, not verified: its users cannot "
            "get ACS tokens yet. Verify the tenant first, or confirm the override."
        )
    return True


def add_assignment(
    *,
    actor: Actor,
    resource: AcsResource,
    tenant: CustomerTenant,
    principal_type: str,
    object_id: str = "",
    display_name: str = "",
    client_ids: list[str] | str | None = None,
    override: bool = False,
) -> Assignment:
    """Allow a user, group or whole tenant to exchange tokens on ``resource``.

    Only verified tenants, unless ``override`` (audited as ``assignment.override``). Adding an
    assignment that exists with other client ids updates it; one marked for removal comes back.
    Users are given by object id (``find_user`` resolves a UPN through Graph first). Queues a
    debounced sync. Raises AssignmentError.
    """
    principal = check_principal(
        tenant=tenant, principal_type=principal_type, object_id=object_id, display_name=display_name
    )
    overridden = check_tenant(tenant, override=override)
    clients = parse_client_ids(client_ids)
    # Two operators adding the same new principal at once both find no row; the second insert
    # then breaks the unique constraint. Its retry finds the first one's row, locked, and meets
    # the ordinary rules (already assigned, or an update) instead of an IntegrityError.
    for attempt in range(3):
        try:
            return _add_assignment(
                actor=actor,
                resource=resource,
                tenant=tenant,
                principal=principal,
                clients=clients,
                overridden=overridden,
            )
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _add_assignment(
    *,
    actor: Actor,
    resource: AcsResource,
    tenant: CustomerTenant,
    principal: Principal,
    clients: list[str],
    overridden: bool,
) -> Assignment:
    with transaction.atomic():
        existing = (
            Assignment.objects.select_for_update()
            .filter(resource=resource, object_id=principal.object_id)
            .first()
        )
        if existing and existing.tenant_id != tenant.pk:
            raise AssignmentError(
                f"{principal.object_id} is already assigned on {resource} for {existing.tenant}."
            )
        if (
            existing
            and existing.desired == Desired.PRESENT
            and sorted(existing.client_ids) == sorted(clients)
        ):
            raise AssignmentError(f"{existing} is already assigned on {resource}.")
        assignment = existing or Assignment(
            resource=resource, tenant=tenant, object_id=principal.object_id, created_by=actor.user
        )
        assignment.principal_type = principal.principal_type
        assignment.display_name = principal.display_name[:256]
        assignment.client_ids = clients
        assignment.desired = Desired.PRESENT
        assignment.sync_state = SyncState.PENDING
        assignment.last_error = ""
        assignment.override_unverified = overridden
        assignment.save()
        action = Action.ASSIGNMENT_ADDED
        if overridden:
            action = Action.ASSIGNMENT_OVERRIDE
        elif existing and existing.desired == Desired.PRESENT:
            action = Action.ASSIGNMENT_UPDATED
        record_event(
            actor=actor,
            action=action,
            target=assignment,
            tenant=tenant,
            details={
                "resource": resource.name,
                "principal_type": principal.principal_type,
                "object_id": principal.object_id,
                "client_ids": clients,
                "tenant_status": tenant.status,
            },
        )
        queue_sync_after_change(resource, actor.user)
    return assignment


def _locked(assignment: Assignment) -> Assignment:
    """The assignment's current row, locked for this transaction (raises when it is gone)."""
    current = (
        Assignment.objects.select_for_update()
        .select_related("resource", "tenant")
        .filter(pk=assignment.pk)
        .first()
    )
    if current is None:
        raise AssignmentError(f"{assignment} is no longer assigned.")
    return current


def remove_assignment(*, actor: Actor, assignment: Assignment) -> Assignment:
    """Mark for removal; the next sync deletes it on the resource, then here.

    ``assignment`` may be a stale copy (a page loaded a while ago): the row is read again under
    a lock and only the removal's own fields are written, so a concurrent change of its client
    ids is neither lost nor left out of the audit event. Raises AssignmentError when the row is
    gone.
    """
    with transaction.atomic():
        current = _locked(assignment)
        current.desired = Desired.ABSENT
        current.sync_state = SyncState.PENDING
        current.last_error = ""
        current.save(update_fields=["desired", "sync_state", "last_error", "updated_at"])
        record_event(
            actor=actor,
            action=Action.ASSIGNMENT_REMOVED,
            target=current,
            tenant=current.tenant,
            details={
                "resource": current.resource.name,
                "object_id": str(current.object_id),
                "client_ids": current.client_ids,
            },
        )
        queue_sync_after_change(current.resource, actor.user)
    return current


def update_assignment(
    *, actor: Actor, assignment: Assignment, client_ids: list[str] | str | None
) -> Assignment:
    """Change the client ids an assignment allows (empty: the operator app). Queues a sync."""
    clients = parse_client_ids(client_ids)
    with transaction.atomic():
        current = _locked(assignment)
        if current.desired != Desired.PRESENT:
            raise AssignmentError(f"{current} is being removed; add it again to keep it.")
        before = list(current.client_ids)
        if sorted(before) == sorted(clients):
            raise AssignmentError(f"{current} already allows exactly these client ids.")
        current.client_ids = clients
        current.sync_state = SyncState.PENDING
        current.last_error = ""
        current.save(update_fields=["client_ids", "sync_state", "last_error", "updated_at"])
        record_event(
            actor=actor,
            action=Action.ASSIGNMENT_UPDATED,
            target=current,
            tenant=current.tenant,
            details={
                "resource": current.resource.name,
                "object_id": str(current.object_id),
                "client_ids": [before, clients],
            },
        )
        queue_sync_after_change(current.resource, actor.user)
    return current


# --- bulk changes -------------------------------------------------------------------------
AUDIT_ID_LIMIT = 1000  # object ids listed in one bulk event; the count is always exact


@dataclass(frozen=True)
class BulkSummary:
    """What a bulk change will do (the confirmation page) or did."""

    count: int
    by_type: dict[str, int]  # principal type value -> count
    by_tenant: dict[str, int]
    by_resource: dict[str, int]
    examples: list[Assignment]

    @property
    def by_type_text(self) -> str:
        """For example "2 users, 1 group": counted words with a translator's own plurals."""
        words: dict[str, Callable[[int], str]] = {
            PrincipalType.USER.value: lambda n: ngettext("%(n)d user", "%(n)d users", n),
            PrincipalType.GROUP.value: lambda n: ngettext("%(n)d group", "%(n)d groups", n),
            PrincipalType.TENANT.value: lambda n: ngettext("%(n)d tenant", "%(n)d tenants", n),
        }
        return ", ".join(
            words[kind](n) % {"n": n} if kind in words else f"{n} {kind}"
            for kind, n in self.by_type.items()
        )


def summarize(assignments) -> BulkSummary:
    """Counts by principal type, tenant and resource, and the first rows, for a confirmation."""
    from django.db.models import Count

    def tally(field: str) -> dict[str, int]:
        rows = assignments.order_by().values_list(field).annotate(n=Count("id")).order_by("-n")
        return {str(k): n for k, n in rows}

    return BulkSummary(
        count=assignments.count(),
        by_type=tally("principal_type"),
        by_tenant=tally("tenant__display_name"),
        by_resource=tally("resource__name"),
        examples=list(assignments.select_related("tenant", "resource")[:20]),
    )


def _bulk_scope_event(
    *, actor: Actor, action: str, scope, rows: list[tuple], details: dict
) -> None:
    """One event for a bulk change, on the resource or tenant whose list it was made from."""
    tenant = scope if isinstance(scope, CustomerTenant) else None
    record_event(
        actor=actor,
        action=action,
        target=scope,
        tenant=tenant,
        details={
            **details,
            "count": len(rows),
            "object_ids": [str(oid) for _, oid, _ in rows[:AUDIT_ID_LIMIT]],
            "listed": min(len(rows), AUDIT_ID_LIMIT),
        },
    )


def _lock(assignments, **filters) -> list[tuple]:
    """(pk, object id, resource id) of the given assignments, locked for this transaction."""
    return list(
        Assignment.objects.select_for_update()
        .filter(pk__in=assignments.values("pk"), **filters)
        .order_by("pk")
        .values_list("pk", "object_id", "resource_id")
    )


def _update_rows(rows: list[tuple], **fields) -> None:
    """Mark the locked rows pending (to be sent again), with ``fields``, in chunks."""
    pks = [pk for pk, _, _ in rows]
    for start in range(0, len(pks), 5000):
        Assignment.objects.filter(pk__in=pks[start : start + 5000]).update(
            sync_state=SyncState.PENDING, last_error="", **fields
        )


def remove_assignments(*, actor: Actor, assignments, scope) -> int:
    """Mark every given assignment for removal (one event); returns how many were marked.

    ``assignments`` is a queryset (a selection, or everything a filter matches); ``scope`` is
    the resource or tenant whose list it came from (the event's target). Rows already being
    removed are left as they are. Each affected resource gets a debounced sync.
    """
    with transaction.atomic():
        rows = _lock(assignments, desired=Desired.PRESENT)
        if not rows:
            raise AssignmentError("None of the selected assignments is left to remove.")
        _update_rows(rows, desired=Desired.ABSENT, updated_at=timezone.now())
        resources = AcsResource.objects.filter(pk__in={r for _, _, r in rows})
        _bulk_scope_event(
            actor=actor,
            action=Action.ASSIGNMENT_REMOVED,
            scope=scope,
            rows=rows,
            details={"bulk": True, "resources": sorted(r.name for r in resources)},
        )
        for resource in resources:
            queue_sync_after_change(resource, actor.user)
    return len(rows)


def resync_assignments(*, actor: Actor, assignments, scope, only_failed: bool = False) -> int:
    """Send the given assignments again now: each is marked pending and its resource's sync
    queued (joining a queued one). ``only_failed`` keeps the failed ones (Retry failed)."""
    with transaction.atomic():
        filters = {"sync_state": SyncState.FAILED} if only_failed else {}
        rows = _lock(assignments, **filters)
        if not rows:
            raise AssignmentError(
                "None of the selected assignments has failed."
                if only_failed
                else "No assignment is selected."
            )
        _update_rows(rows)
        trigger = "retry-failed" if only_failed else "resync"
        runs = []
        for resource in AcsResource.objects.filter(pk__in={r for _, _, r in rows}):
            run, _ = _queue_sync_now(resource=resource, trigger=trigger, user=actor.user)
            runs.append(run.pk)
        _bulk_scope_event(
            actor=actor,
            action=Action.SYNC_QUEUED,
            scope=scope,
            rows=rows,
            details={"trigger": trigger, "runs": runs},
        )
    return len(rows)


def retry_failed(*, actor: Actor, resource: AcsResource, run: SyncRun | None = None) -> SyncRun:
    """ "Retry failed entries": queue a sync for the entries that failed, now.

    The failed assignments of ``resource`` are marked pending again and a run is queued
    (joining a queued one, or sending a waiting retry now). A sync sends only what differs
    from the resource, so entries that succeeded are not sent again. Removals of drift that
    failed stay requested and are retried by the same run. One event (sync.queued,
    trigger "retry-failed") with the number of entries and the run they came from.
    """
    with transaction.atomic():
        rows = _lock(resource.assignments.all(), sync_state=SyncState.FAILED)
        drift = resource.drift.filter(remove_requested=True).count()
        if not rows and not drift:
            raise AssignmentError(f"No entry of {resource} is failing now.")
        _update_rows(rows)
        queued, created = _queue_sync_now(
            resource=resource, trigger="retry-failed", user=actor.user
        )
        record_event(
            actor=actor,
            action=Action.SYNC_QUEUED,
            target=resource,
            details={
                "run": queued.pk,
                "trigger": "retry-failed",
                "new": created,
                "entries": len(rows),
                "drift_removals": drift,
                "object_ids": [str(oid) for _, oid, _ in rows[:AUDIT_ID_LIMIT]],
                "after_run": run.pk if run else None,
            },
        )
    return queued


# --- drift --------------------------------------------------------------------------------
def adopt_drift(*, actor: Actor, entry: DriftEntry) -> Assignment:
    """Take a remote assignment the portal did not make under its management, as it is."""
    tenant = (
        CustomerTenant.objects.filter(tenant_id=entry.tenant_id).first()
        if entry.tenant_id
        else None
    )
    if tenant is None:
        raise AssignmentError(
            f"Register tenant {entry.tenant_id or '(none)'} in the portal before adopting this."
        )
    if entry.principal_type not in PrincipalType.values:
        raise AssignmentError(f"Unknown principal type {entry.principal_type!r}.")
    with transaction.atomic():
        if Assignment.objects.filter(resource=entry.resource, object_id=entry.object_id).exists():
            raise AssignmentError("The portal manages this object id already.")
        assignment = Assignment.objects.create(
            resource=entry.resource,
            tenant=tenant,
            principal_type=entry.principal_type,
            object_id=entry.object_id,
            client_ids=list(entry.client_ids),
            sync_state=SyncState.SYNCED,
            last_synced_at=entry.last_seen_at,
            adopted=True,
            override_unverified=tenant.status != TenantStatus.VERIFIED,
            created_by=actor.user,
        )
        record_event(
            actor=actor,
            action=Action.DRIFT_ADOPTED,
            target=assignment,
            tenant=tenant,
            details={"resource": entry.resource.name, "object_id": str(entry.object_id)},
        )
        entry.delete()
    return assignment


def remove_drift(*, actor: Actor, entry: DriftEntry) -> DriftEntry:
    """Ask the next sync to delete this remote assignment the portal did not make."""
    with transaction.atomic():
        entry.remove_requested = True
        entry.save(update_fields=["remove_requested"])
        record_event(
            actor=actor,
            action=Action.DRIFT_REMOVED,
            target=entry,
            target_label=f"{entry.principal_type} {entry.object_id}",
            details={"resource": entry.resource.name, "object_id": str(entry.object_id)},
        )
        queue_sync_after_change(entry.resource, actor.user)
    return entry
