"""A sync while things go wrong around it: ACS refusing writes, the lock lost, the database
connection dropped. In this process, against cloudsim (workers are in tests/integration)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from assignments.models import (
    AcsResource,
    Assignment,
    SyncRun,
    SyncState,
    SyncStatus,
    WaitKind,
)
from assignments.sync import Heartbeat, claim_resource, reconcile_resource
from cloudsim import ids

from .conftest import remote_assignments

pytestmark = pytest.mark.django_db(transaction=True)


def make(resource, tenant, n: int) -> None:
    Assignment.objects.bulk_create(
        Assignment(
            resource=resource,
            tenant=tenant,
            principal_type="user",
            object_id=uuid.UUID(int=i + 1),
            client_ids=[ids.OPERATOR_APP_ID],
        )
        for i in range(n)
    )


def refused_writes(cloudsim) -> int:
    return cloudsim.admin("GET", "/stats")["faults"].get("acs 503", 0)


def start_run(resource) -> tuple[SyncRun, threading.Thread]:
    run = SyncRun.objects.create(resource=resource, trigger="manual")
    thread = threading.Thread(target=reconcile_resource, kwargs={"run_id": run.pk})
    thread.start()
    return run, thread


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not {what} after {timeout} s")


def test_acs_refusing_writes_shows_the_wait_stops_hammering_and_the_next_run_retries(
    acs_resource, fabrikam, cloudsim_clean, operator_client, settings, queued_tasks
):
    settings.ACS_SYNC_BATCH_SIZE = 5
    settings.ACS_SYNC_RETRY_SECONDS = 4
    settings.ACS_SYNC_RETRY_DELAY_SECONDS = 30
    make(acs_resource, fabrikam, 20)
    for method in ("PATCH", "PUT"):
        cloudsim_clean.set_fault("503", service=ids.CONTOSO_ACS, method=method)
    run, thread = start_run(acs_resource)
    progress = f"/syncs/{run.pk}/progress.json"
    shown = wait_until(
        lambda: operator_client.get(progress).json()["fields"]["wait"], 10, "showing a wait"
    )
    assert shown.startswith("Waiting ") and "Service unavailable" in shown and "503" in shown
    thread.join(timeout=30)
    run.refresh_from_db()
    assert (run.status, run.failed, run.created) == (SyncStatus.PARTIAL, 20, 0)
    assert all(e["transient"] for e in run.errors)
    # The circuit opened: the threads waited together instead of each retrying on its own
    # (without it, four batches and twenty single writes retried for 4 s: over 100 requests).
    assert refused_writes(cloudsim_clean) <= 30, refused_writes(cloudsim_clean)
    follow_up = SyncRun.objects.get(status=SyncStatus.QUEUED)
    assert follow_up.trigger == "retry" and f"run #{follow_up.pk} retries them" in run.message
    assert [t["kwargs"] for t in queued_tasks] == [{"run_id": follow_up.pk}]
    assert queued_tasks[0]["countdown"] == 30  # not restarted at once by the lock's release

    cloudsim_clean.clear_faults()  # ACS recovered
    reconcile_resource(run_id=follow_up.pk)
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.created) == (SyncStatus.SUCCEEDED, 20)
    assert len(remote_assignments(cloudsim_clean)) == 20
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_a_run_that_loses_its_lock_stops_sending_even_while_waiting_to_retry(
    acs_resource, fabrikam, cloudsim_clean, settings
):
    settings.ACS_SYNC_LOCK_SECONDS = 4  # heartbeat every second
    settings.ACS_SYNC_BATCH_SIZE = 5
    make(acs_resource, fabrikam, 40)
    for method in ("PATCH", "PUT"):
        cloudsim_clean.set_fault("503", service=ids.CONTOSO_ACS, method=method)
    run, thread = start_run(acs_resource)
    wait_until(lambda: refused_writes(cloudsim_clean) >= 3, 10, "refused")
    # Another run takes the resource (as after the lock expired while this one was stuck).
    AcsResource.objects.filter(pk=acs_resource.pk).update(
        sync_locked_by="run-thief", sync_locked_until=timezone.now() + timedelta(minutes=5)
    )
    taken = time.monotonic()
    thread.join(timeout=30)
    stopped_after = time.monotonic() - taken
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED and "another run took over" in run.message
    assert stopped_after < 3, f"kept going {stopped_after:.1f} s after losing the lock"
    sent = refused_writes(cloudsim_clean)
    time.sleep(1.5)
    assert refused_writes(cloudsim_clean) == sent  # nothing more went out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="drops a PostgreSQL backend")
def test_the_heartbeat_reconnects_after_the_database_drops_its_connection(acs_resource):
    assert claim_resource(resource_id=acs_resource.pk, owner="run-1", seconds=4)
    heartbeat = Heartbeat(resource_id=acs_resource.pk, owner="run-1", seconds=4)
    heartbeat.start()
    try:
        time.sleep(1.3)  # its first extension opened its connection
        with connection.cursor() as cursor:  # what a database restart or failover does to it
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        time.sleep(2.5)
        assert not heartbeat.lost.is_set()
        until = AcsResource.objects.get(pk=acs_resource.pk).sync_locked_until
        assert until > timezone.now() + timedelta(seconds=2)  # extended after the drop
    finally:
        heartbeat.stop()


@pytest.mark.parametrize("method", ["GET", "PATCH"])  # while listing, while sending
def test_a_429_wait_is_on_the_run_with_when_and_why_and_cleared_once_sending_resumes(
    acs_resource, fabrikam, cloudsim_clean, settings, method
):
    settings.ACS_SYNC_BATCH_SIZE = 5
    settings.ACS_SYNC_CONCURRENCY = 2
    make(acs_resource, fabrikam, 40)
    # One 429 asking for 3 s; slow writes afterwards keep the run going once the wait is over.
    cloudsim_clean.set_fault("429", service=ids.CONTOSO_ACS, method=method, times=1, arg=3)
    cloudsim_clean.set_fault("latency", service=ids.CONTOSO_ACS, method="PATCH", arg=250)
    asked_at = timezone.now()
    run, thread = start_run(acs_resource)
    waiting = wait_until(lambda: SyncRun.objects.get(pk=run.pk).waiting, 10, "waiting on the run")
    assert waiting.kind == WaitKind.THROTTLED
    assert "throttling" in waiting.reason and "3 s" in waiting.reason and "429" in waiting.reason
    seen_at = timezone.now()
    # Until the 429's Retry-After ends: 3 s after it came, which was after the run started.
    assert (waiting.until - asked_at).total_seconds() >= 2.9
    assert 0 < (waiting.until - seen_at).total_seconds() <= 3.1
    # Sending resumes: the fields are cleared while the run is still going.
    resumed = wait_until(
        lambda: SyncRun.objects.filter(
            pk=run.pk, status=SyncStatus.RUNNING, waiting_until__isnull=True
        ).first(),
        10,
        "resumed",
    )
    assert (resumed.wait_reason, resumed.wait_kind, resumed.waiting) == ("", "", None)
    assert resumed.done < 40  # cleared while work goes on, not only when the run ends
    thread.join(timeout=30)
    run.refresh_from_db()
    assert (run.status, run.created, run.message) == (SyncStatus.SUCCEEDED, 40, "In sync.")
    assert (run.waiting_until, run.wait_reason, run.wait_kind) == (None, "", "")
    assert cloudsim_clean.admin("GET", "/stats")["faults"].get("acs 429") == 1


def test_server_errors_in_a_row_show_a_server_error_wait(
    acs_resource, fabrikam, cloudsim_clean, settings
):
    settings.ACS_SYNC_BATCH_SIZE = 5
    make(acs_resource, fabrikam, 20)
    cloudsim_clean.set_fault("500", service=ids.CONTOSO_ACS, method="PATCH", times=4)
    run, thread = start_run(acs_resource)
    waiting = wait_until(lambda: SyncRun.objects.get(pk=run.pk).waiting, 10, "waiting")
    assert waiting.kind == WaitKind.SERVER_ERROR and "HTTP 500" in waiting.reason
    thread.join(timeout=30)
    run.refresh_from_db()
    assert (run.status, run.created, run.waiting) == (SyncStatus.SUCCEEDED, 20, None)
