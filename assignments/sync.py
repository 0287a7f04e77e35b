"""Reconciling one ACS resource with the database: the lock, the run, the bookkeeping.

How a run stays correct when things go wrong:

- **One run per resource.** A run claims its resource with a conditional UPDATE
  (``sync_locked_until`` empty or past → now + ``ACS_SYNC_LOCK_SECONDS``, owner token); exactly
  one worker gets row count 1 (healthchecks' ``sendalerts`` pattern). A heartbeat thread extends
  the lock while the run lives; a worker killed with SIGKILL stops extending it, so the resource
  is free again once the lock expires. A run that loses its lock stops sending.
- **Idempotent.** The database says what should exist, the resource says what does; every run
  recomputes the difference from both (``assignments.diff.Differ``). Work a killed run did
  remotely shows up as "unchanged" next time; ACS keys assignments by object id, so nothing can
  be duplicated. A SyncRun left ``running`` by a dead worker is marked failed by the next run.
- **Concurrent edits.** Rows the operator changes during a run keep their ``pending`` state:
  bookkeeping only touches rows whose ``updated_at`` is not after the run's snapshot, and the
  change itself queued the next run.
- **Memory bounded at any size.** The remote list is held as a compact index; assignments are
  read, diffed, recorded and sent chunk by chunk (``READ_CHUNK``), with at most ``WINDOW``
  batches per thread on the pool, so 100,000 assignments take no more memory than 10,000
  (bench/sync.py prints both).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import ngettext

from assignments import acs, outbox
from assignments.breaker import CircuitBreaker, Wait
from assignments.diff import Differ, LocalRow, Op, OpKind, Plan, RemoteIndex
from assignments.models import (
    AcsResource,
    Assignment,
    Desired,
    DriftEntry,
    SyncRun,
    SyncState,
    SyncStatus,
)
from audit.actions import Action
from audit.services import Actor, record_event
from tenants.models import CustomerTenant

log = logging.getLogger(__name__)
FINISHED = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)
COUNTS = ("created", "updated", "deleted", "unchanged", "failed", "drift", "restored")
CHUNK = 500  # ids per bookkeeping statement (pk__any_of: one array on PostgreSQL)
READ_CHUNK = 2000  # assignments read, diffed and recorded at a time
WINDOW = 3  # batches per client thread on the pool at most (in flight or next)
# Failures listed on the run, at most (each failed assignment keeps its own reason, and the run
# counts them all): the list is saved with every progress update.
ERRORS_KEPT = 1000
T = TypeVar("T")
FLUSH_SECONDS = 0.25  # progress reaches the database (and the page) this often while sending
# Retries of one request are bounded by time (ACS_SYNC_RETRY_SECONDS); this only caps attempts.
RETRY_ATTEMPTS = 1000


# --- the lock -------------------------------------------------------------------------------
def claim_resource(*, resource_id: int, owner: str, seconds: int) -> bool:
    """Take the resource's sync lock if it is free or expired. True when this caller got it."""
    now = timezone.now()
    free = Q(sync_locked_until__isnull=True) | Q(sync_locked_until__lt=now)
    claimed = AcsResource.objects.filter(free, pk=resource_id).update(
        sync_locked_until=now + timedelta(seconds=seconds), sync_locked_by=owner
    )
    return claimed == 1


def extend_claim(*, resource_id: int, owner: str, seconds: int) -> bool:
    until = timezone.now() + timedelta(seconds=seconds)
    return (
        AcsResource.objects.filter(pk=resource_id, sync_locked_by=owner).update(
            sync_locked_until=until
        )
        == 1
    )


def release_claim(*, resource_id: int, owner: str) -> None:
    AcsResource.objects.filter(pk=resource_id, sync_locked_by=owner).update(
        sync_locked_until=None, sync_locked_by=""
    )


def lock_wait_seconds(resource_id: int) -> float:
    until = (
        AcsResource.objects.filter(pk=resource_id)
        .values_list("sync_locked_until", flat=True)
        .first()
    )
    return max(1.0, (until - timezone.now()).total_seconds()) if until else 1.0


class Heartbeat(threading.Thread):
    """Extends the lock every quarter of its lifetime; ``lost`` is set if the run must stop.

    A failed extension (the database connection dropped, the server restarted) is retried on a
    fresh connection every second. The lock is only declared lost when someone else holds it,
    or when no extension succeeded before it could have expired: from then on another run may
    claim the resource, so this one must stop sending (``lost`` also ends the ACS client's
    waits between retries).
    """

    def __init__(self, *, resource_id: int, owner: str, seconds: int) -> None:
        super().__init__(name=f"sync-heartbeat-{resource_id}", daemon=True)
        self.resource_id, self.owner, self.seconds = resource_id, owner, seconds
        self.lost = threading.Event()
        self._stopping = threading.Event()

    def run(self) -> None:
        interval = max(0.5, self.seconds / 4)
        # Stop a little before the lock can expire: a relay may claim it the moment it does.
        margin = min(2.0, self.seconds / 8)
        expires = time.monotonic() + self.seconds
        wait = interval
        try:
            while not self._stopping.wait(wait):
                attempt_at = time.monotonic()
                try:
                    extended = extend_claim(
                        resource_id=self.resource_id, owner=self.owner, seconds=self.seconds
                    )
                except DatabaseError:
                    log.warning("Sync heartbeat could not reach the database; retrying")
                    connection.close()  # the next attempt opens a fresh connection
                    if time.monotonic() >= expires - margin:
                        log.error("Sync lock may have expired without a heartbeat; stopping")
                        self.lost.set()
                        return
                    wait = min(1.0, interval)
                    continue
                if not extended:
                    self.lost.set()
                    return
                expires, wait = attempt_at + self.seconds, interval
        except Exception:
            log.exception("Sync heartbeat failed; treating the lock as lost")
            self.lost.set()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


class LockLost(Exception):
    pass


# --- the run ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What the task should do next: nothing, or try again in ``retry_in`` seconds."""

    status: str
    retry_in: float | None = None


def reconcile_resource(*, run_id: int) -> Outcome:
    """Run SyncRun ``run_id``: make its resource match the database.

    Returns ``Outcome(retry_in=...)`` when another run holds the resource. Never raises for ACS
    failures: they end up in the run (status, message, errors) and on the assignments.
    """
    run = SyncRun.objects.select_related("resource").filter(pk=run_id).first()
    if run is None or run.status in FINISHED:
        return Outcome(status=run.status if run else "missing")
    resource = run.resource
    owner = f"run-{run.pk}-{uuid.uuid4().hex[:12]}"
    seconds = settings.ACS_SYNC_LOCK_SECONDS
    if not claim_resource(resource_id=resource.pk, owner=owner, seconds=seconds):
        return Outcome(status="busy", retry_in=lock_wait_seconds(resource.pk))
    heartbeat = Heartbeat(resource_id=resource.pk, owner=owner, seconds=seconds)
    heartbeat.start()
    try:
        _start(run)
        _Reconciler(run, heartbeat).execute()
    finally:
        heartbeat.stop()
        release_claim(resource_id=resource.pk, owner=owner)
        # A "Sync now" made during this run starts now, not when its retry countdown ends.
        outbox.send_queued_run(resource.pk)
        close_old_connections()
    return Outcome(status=SyncRun.objects.values_list("status", flat=True).get(pk=run.pk))


def _start(run: SyncRun) -> None:
    """Mark runs a dead worker left ``running`` as failed, then this one as running."""
    now = timezone.now()
    with transaction.atomic():
        SyncRun.objects.filter(resource=run.resource, status=SyncStatus.RUNNING).exclude(
            pk=run.pk
        ).update(
            status=SyncStatus.FAILED,
            finished_at=now,
            message=f"Stopped: the worker running it went away; run #{run.pk} took over.",
        )
        restarted = run.status == SyncStatus.RUNNING  # redelivered after its worker died
        for name in ("planned", "done", *COUNTS):
            setattr(run, name, 0)
        run.errors = []
        run.status, run.started_at, run.finished_at = SyncStatus.RUNNING, now, None
        run.message = "Restarted after its worker stopped." if restarted else ""
        run.save()
        record_event(
            actor=Actor.system("sync"),
            action=Action.SYNC_STARTED,
            target=run.resource,
            details={"run": run.pk, "trigger": run.trigger, "restarted": restarted},
        )


class _Reconciler:
    def __init__(self, run: SyncRun, heartbeat: Heartbeat) -> None:
        self.run, self.resource, self.heartbeat = run, run.resource, heartbeat
        # Shared by the client's threads: they wait together, and give up together.
        self.breaker = CircuitBreaker(give_up_after=settings.ACS_SYNC_RETRY_SECONDS)
        self.transient_failures = 0
        self.shown_wait: Wait | None = None
        self.timings: dict[str, float] = {}  # seconds per phase, in the sync.finished event
        # Sending: ops not yet in a batch, batches on the pool, outcomes not yet recorded.
        self._buffer: list[Op] = []
        self._running: set[Future] = set()
        self._results: list[tuple[Op, str, bool]] = []
        self._flushed = time.monotonic()

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[phase] = round(time.monotonic() - started, 3)

    def execute(self) -> None:
        run = self.run
        try:
            if not self.resource.enabled:
                raise acs.AcsConfigError("The resource is disabled.")
            client = acs.client_for(
                self.resource,
                concurrency=settings.ACS_SYNC_CONCURRENCY,
                cancel=self.heartbeat.lost,  # a run that lost its lock stops waiting to retry
                breaker=self.breaker,
                max_attempts=RETRY_ATTEMPTS,
                retry_seconds=settings.ACS_SYNC_RETRY_SECONDS,
            )
            with client:
                self._reconcile(client)
                self.timings["requests"] = client.requests_sent
        except (LockLost, acs.AcsCancelled):
            run.message = "Stopped: another run took over this resource."
            run.status = SyncStatus.FAILED
        except acs.AcsError as exc:
            run.message = f"The sync could not finish: {exc}"
            run.status = SyncStatus.FAILED
        except Exception:
            run.message = "The sync stopped on an internal error; see the worker log."
            run.status = SyncStatus.FAILED
            self._finish()
            raise
        else:
            run.status = SyncStatus.PARTIAL if run.failed else SyncStatus.SUCCEEDED
            run.message = outcome_message(run)
        self._finish()

    # reading ----------------------------------------------------------------------------
    def _check_lock(self) -> None:
        if self.heartbeat.lost.is_set():
            raise LockLost

    def _list(self, client: acs.AcsClient) -> RemoteIndex:
        """Every remote entry, compactly (runs on the client's pool; stops if the lock is lost)."""
        with self._timed("list"):
            remote = RemoteIndex()
            for entry in client.list_assignments():
                self._check_lock()
                remote.add(entry)
            return remote

    def _local_chunks(self) -> Iterator[list[LocalRow]]:
        """The resource's assignments as plain values, ``READ_CHUNK`` rows per query.

        Keyset pages in object id order (the unique index on resource and object id), so no
        query or cursor stays open while the run writes, and memory holds one chunk. Object ids
        and client ids are read as the database's text rather than as a UUID and a JSON value
        per row, client id lists are parsed once per distinct list, tenant ids read once per
        tenant.
        """
        tenant_ids: dict[int, str] = {}
        client_lists: dict[str, tuple[str, ...]] = {}
        rows = (
            Assignment.objects.filter(resource=self.resource)
            .order_by("object_id")
            .annotate(oid=Cast("object_id", TextField()), clients=Cast("client_ids", TextField()))
        )
        after: uuid.UUID | None = None
        while True:
            started = time.monotonic()
            page = rows.filter(object_id__gt=after) if after is not None else rows
            chunk = list(
                page.values_list(
                    "pk",
                    "oid",
                    "principal_type",
                    "tenant_id",
                    "clients",
                    "desired",
                    "sync_state",
                )[:READ_CHUNK]
            )
            missing = {row[3] for row in chunk} - tenant_ids.keys()
            if missing:
                tenant_ids.update(
                    (pk, str(tid))
                    for pk, tid in CustomerTenant.objects.filter(pk__in=missing).values_list(
                        "pk", "tenant_id"
                    )
                )
            local = []
            for pk, oid, ptype, tenant_pk, clients, desired, state in chunk:
                if clients not in client_lists:
                    client_lists[clients] = tuple(json.loads(clients) or ())
                local.append(
                    LocalRow(
                        pk,
                        uuid_text(oid),
                        ptype,
                        tenant_ids[tenant_pk],
                        client_lists[clients],
                        desired == Desired.PRESENT,
                        state in (SyncState.SYNCED, SyncState.DRIFTED),
                    )
                )
            self._add_time("read", started)
            if local:
                yield local
            if len(chunk) < READ_CHUNK:
                return
            after = uuid.UUID(chunk[-1][1])

    def _add_time(self, phase: str, started: float) -> None:
        self.timings[phase] = round(self.timings.get(phase, 0.0) + time.monotonic() - started, 3)

    def _await(self, future: Future[T]) -> T:
        """The future's result; meanwhile the run page shows what the client waits for."""
        while True:
            try:
                return future.result(timeout=FLUSH_SECONDS)
            except FutureTimeout:
                self._check_lock()
                self._show_wait()

    # the run, streamed ------------------------------------------------------------------
    def _reconcile(self, client: acs.AcsClient) -> None:
        """List the resource, then diff and send chunk by chunk, recording as batches end.

        Memory holds the remote index (``RemoteIndex``), one chunk of local rows and the
        batches in flight (at most ``WINDOW`` per thread), whatever the number of assignments:
        sending starts with the first chunk, while the next ones are read.
        """
        run = self.run
        listing = client.submit(self._list, client)
        self.snapshot_at = timezone.now()
        removals = dict(
            DriftEntry.objects.filter(resource=self.resource, remove_requested=True).values_list(
                "object_id", "pk"
            )
        )
        # Progress needs a total before the rows are read: every row and removal, corrected
        # as rows turn out to be gone already and once the last chunk is planned.
        run.planned = Assignment.objects.filter(resource=self.resource).count() + len(removals)
        run.save(update_fields=["planned"])
        # The first chunk is read while the listing waits for ACS, so sending starts as soon
        # as the remote index is complete.
        chunks = self._local_chunks()
        first = next(chunks, None)
        remote = self._await(listing)
        started = time.monotonic()
        differ = Differ(remote, drift_removals={str(k): v for k, v in removals.items()})
        planned = 0
        for chunk in itertools.chain([first] if first is not None else [], chunks):
            plan_started = time.monotonic()
            plan = differ.plan(chunk)
            self._add_time("plan", plan_started)
            planned += len(plan.ops) + len(plan.unchanged)
            self._record_plan(plan)
            self._send(client, plan.ops)
        for plan in differ.finish(drift_limit=CHUNK):
            planned += len(plan.ops)
            self._record_plan(plan)
            self._send(client, plan.ops)
        self._forget_stale_drift()
        run.planned = planned
        run.save(update_fields=["planned"])
        self._send(client, [], last=True)
        self._add_time("apply", started)

    # bookkeeping ------------------------------------------------------------------------
    def _rows(self, pks: list[int]):
        """The rows this run may write: not changed by an operator since the snapshot."""
        return Assignment.objects.filter(pk__any_of=pks, updated_at__lte=self.snapshot_at)

    def _record_plan(self, plan: Plan) -> None:
        """Record one part of the plan before its changes are sent (a result may follow soon).

        A part with only changes to send (a first sync: all creates) writes nothing here: its
        outcomes are recorded as they come, in bulk, without a commit per chunk.
        """
        if not (plan.unchanged or plan.gone or plan.restored or plan.drift or plan.drift_gone):
            return
        run, now = self.run, timezone.now()
        with transaction.atomic():
            for chunk in _chunks(plan.unchanged):
                self._rows(chunk).exclude(sync_state=SyncState.SYNCED, last_error="").update(
                    sync_state=SyncState.SYNCED, last_error="", last_synced_at=now
                )
            for chunk in _chunks(plan.gone):
                self._rows(chunk).filter(desired=Desired.ABSENT).delete()
            for chunk in _chunks(plan.restored):
                self._rows(chunk).update(sync_state=SyncState.DRIFTED)
            if plan.drift_gone:
                DriftEntry.objects.filter(pk__in=plan.drift_gone).delete()
            self._record_drift(plan.drift)
            run.planned -= len(plan.gone) + len(plan.drift_gone)
            run.unchanged += len(plan.unchanged)
            run.done += len(plan.unchanged)
            run.drift += len(plan.drift)
            run.restored += len(plan.restored)
            run.save(update_fields=["planned", "unchanged", "done", "drift", "restored"])

    def _record_drift(self, entries: list[dict]) -> None:
        """Upsert the drift entries seen (``last_seen_at`` = the run's snapshot)."""
        rows = []
        for entry in entries:
            try:
                oid = uuid.UUID(str(entry.get("objectId")))
            except ValueError:
                continue  # not an object id the portal could ever adopt or name
            rows.append(
                DriftEntry(
                    resource=self.resource,
                    object_id=oid,
                    tenant_id=str(entry.get("tenantId") or "")[:64],
                    principal_type=str(entry.get("principalType") or "")[:16],
                    client_ids=list(entry.get("clientIds") or []),
                    last_seen_at=self.snapshot_at,
                )
            )
        if rows:
            DriftEntry.objects.bulk_create(
                rows,
                batch_size=CHUNK,
                update_conflicts=True,
                unique_fields=["resource", "object_id"],
                update_fields=["tenant_id", "principal_type", "client_ids", "last_seen_at"],
            )

    def _forget_stale_drift(self) -> None:
        """Drift entries this run did not see again are gone (or now the portal's own)."""
        DriftEntry.objects.filter(resource=self.resource, remove_requested=False).exclude(
            last_seen_at=self.snapshot_at
        ).delete()

    # writing ----------------------------------------------------------------------------
    def _send(self, client: acs.AcsClient, ops: list[Op], *, last: bool = False) -> None:
        """Queue ``ops`` for sending in merge-patch batches; ``last``: send the rest and wait.

        At most ``WINDOW`` batches per thread are on the pool: when that many are, this waits
        for one to end, recording outcomes every ``FLUSH_SECONDS``. The waits wake at least
        every ``FLUSH_SECONDS``, to stop at once if the lock is lost and to show on the run page
        what the sending waits for.
        """
        size = max(1, settings.ACS_SYNC_BATCH_SIZE)
        self._buffer.extend(ops)
        while len(self._buffer) >= size or (last and self._buffer):
            while len(self._running) >= WINDOW * client.concurrency:
                self._collect(timeout=FLUSH_SECONDS)
            batch, self._buffer = self._buffer[:size], self._buffer[size:]
            self._running.add(client.submit(_send_batch, client, batch))
        self._collect(timeout=0)
        while last and self._running:
            self._collect(timeout=FLUSH_SECONDS)
        if last:
            if self._results:
                self._record_results(self._results)
                self._results = []
            self._show_wait()

    def _collect(self, *, timeout: float) -> None:
        """Take the outcomes of batches that ended (waiting up to ``timeout`` for one)."""
        done: set[Future] = set()
        if self._running:
            done, self._running = wait(self._running, timeout=timeout, return_when=FIRST_COMPLETED)
        self._check_lock()
        for future in done:
            try:
                self._results.extend(future.result())
            except acs.AcsCancelled:
                raise LockLost from None
        self._show_wait()
        if self._results and time.monotonic() - self._flushed >= FLUSH_SECONDS:
            self._record_results(self._results)
            self._results, self._flushed = [], time.monotonic()

    def _show_wait(self) -> None:
        """Store what the sending waits for (the breaker's cool-down), when that changes."""
        current = self.breaker.waiting()
        if current == self.shown_wait or (
            current
            and self.shown_wait
            and current.reason == self.shown_wait.reason
            and abs(current.until - self.shown_wait.until) < 1
        ):
            return
        self.shown_wait = current
        until = datetime.fromtimestamp(current.until, tz=UTC) if current else None
        SyncRun.objects.filter(pk=self.run.pk).update(
            waiting_until=until,
            wait_reason=current.reason[:300] if current else "",
            wait_kind=current.kind if current else "",
        )

    def _record_results(self, results: list[tuple[Op, str, bool]]) -> None:
        """Store one batch's outcome: per assignment, and the run's counts and progress."""
        run, now = self.run, timezone.now()
        ok = [op for op, error, _ in results if not error]
        failed = [(op, error, transient) for op, error, transient in results if error]
        with transaction.atomic():
            synced = [op.pk for op in ok if op.kind != OpKind.DELETE and op.pk]
            for chunk in _chunks(synced):
                self._rows(chunk).update(
                    sync_state=SyncState.SYNCED, last_error="", last_synced_at=now
                )
            deleted = [op.pk for op in ok if op.kind == OpKind.DELETE and op.pk]
            for chunk in _chunks(deleted):
                self._rows(chunk).filter(desired=Desired.ABSENT).delete()
            DriftEntry.objects.filter(
                pk__in=[op.drift_pk for op in ok if op.drift_pk], remove_requested=True
            ).delete()
            by_reason: dict[str, list[int]] = {}
            for op, error, transient in failed:
                if op.pk:
                    by_reason.setdefault(error, []).append(op.pk)
                if len(run.errors) < ERRORS_KEPT:
                    run.errors.append(
                        {
                            "object_id": op.object_id,
                            "op": op.kind,
                            "reason": error,
                            "transient": transient,
                        }
                    )
                self.transient_failures += transient
            for error, pks in by_reason.items():  # failures mostly share their reason
                for chunk in _chunks(pks):
                    self._rows(chunk).update(sync_state=SyncState.FAILED, last_error=error)
            run.created += sum(1 for op in ok if op.kind == OpKind.CREATE)
            run.updated += sum(1 for op in ok if op.kind == OpKind.UPDATE)
            run.deleted += sum(1 for op in ok if op.kind == OpKind.DELETE)
            run.failed += len(failed)
            run.done += len(results)
            run.save(update_fields=["created", "updated", "deleted", "failed", "done", "errors"])

    def _finish(self) -> None:
        from assignments.services import _queue_sync

        run = self.run
        with transaction.atomic():
            run.finished_at = timezone.now()
            run.waiting_until, run.wait_reason, run.wait_kind = None, "", ""
            AcsResource.objects.filter(pk=self.resource.pk).update(sync_requested_at=None)
            retry = None
            if self.transient_failures and run.status == SyncStatus.PARTIAL:
                # Failures that only wanted time (503, 429, timeouts) are retried by a follow-up
                # run, not left for beat's next sweep.
                delay = settings.ACS_SYNC_RETRY_DELAY_SECONDS
                retry, _ = _queue_sync(resource=self.resource, trigger="retry", countdown=delay)
                run.message += (
                    f" {self.transient_failures} failed for a passing reason (the resource was "
                    f"unavailable or throttling); run #{retry.pk} retries them in {delay} s."
                )
            run.save()
            record_event(
                actor=Actor.system("sync"),
                action=Action.SYNC_FINISHED,
                target=self.resource,
                details={
                    "run": run.pk,
                    "status": run.status,
                    "seconds": self.timings,
                    "retry_run": retry.pk if retry else None,
                    **{k: getattr(run, k) for k in COUNTS},
                },
            )


def outcome_message(run: SyncRun) -> str:
    """What a finished run says: "In sync." only when nothing failed and no drift is left."""
    if run.failed:
        return ngettext(
            "%(failed)d of %(planned)d change failed.",
            "%(failed)d of %(planned)d changes failed.",
            run.planned,
        ) % {"failed": run.failed, "planned": run.planned}
    if run.drift:
        return ngettext(
            "Every change was sent, but %(count)d remote entry the portal did not make is on the "
            "resource (drift): adopt or remove it to bring the resource in sync.",
            "Every change was sent, but %(count)d remote entries the portal did not make are on "
            "the resource (drift): adopt or remove them to bring the resource in sync.",
            run.drift,
        ) % {"count": run.drift}
    return "In sync."


def uuid_text(value: str) -> str:
    """A UUID as the database gave it as text (32 hex digits on SQLite) in its 8-4-4-4-12 form."""
    value = value.lower()
    if len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value


def _chunks(pks: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(pks), CHUNK):
        yield pks[i : i + CHUNK]


def _send_batch(client: acs.AcsClient, ops: list[Op]) -> list[tuple[Op, str, bool]]:
    """One merge-patch for the batch; if it fails, each entry alone (PUT or DELETE).

    Returns (op, "", False) for success and (op, reason, transient) for failure; ``transient``
    when retrying later can help (the next run retries those). Runs on the client's pool;
    ``AcsCancelled`` (the run lost its lock) goes up unchanged.
    """
    try:
        client.patch_assignments({op.object_id: op.body for op in ops})
        return [(op, "", False) for op in ops]
    except acs.AcsCancelled:
        raise
    except acs.AcsError as exc:
        log.info("Merge-patch of %d entries failed (%s); sending them one by one", len(ops), exc)
    results = []
    for op in ops:
        try:
            if op.kind == OpKind.DELETE:
                client.delete_assignment(op.object_id)
            else:
                assert op.body is not None  # a put always carries the entry it writes
                client.put_assignment(
                    op.object_id,
                    tenant_id=op.body["tenantId"],
                    principal_type=op.body["principalType"],
                    client_ids=op.body["clientIds"],
                )
            results.append((op, "", False))
        except acs.AcsCancelled:
            raise
        except acs.AcsError as exc:
            results.append((op, str(exc), not exc.permanent))
    return results
