"""Sync through the real path: a Celery worker process, the broker, the database and cloudsim.

The worker inherits this module's environment: short sync locks (a killed worker's resource is
free again within seconds) and merge-patch batches of 50 (more batches, so a run can be killed
half way).
"""

from __future__ import annotations

import os
import time

import pytest

os.environ.setdefault("ACS_SYNC_LOCK_SECONDS", "8")
os.environ.setdefault("ACS_SYNC_BATCH_SIZE", "50")

from assignments.models import AcsResource, Assignment, SyncState, SyncStatus
from assignments.services import request_sync
from assignments.testing import add_users, empty_resource, entries_of, remote_entries
from assignments.testing import wait_finished as wait_for
from audit.services import Actor
from cloudsim import ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
N = 1000


@pytest.fixture
def resource(microsoft_env, cloudsim_clean) -> AcsResource:
    return empty_resource(cloudsim_clean)


@pytest.fixture
def desired(resource) -> dict[str, dict]:
    """N user assignments of a verified tenant, as ACS should end up holding them."""
    return entries_of(add_users(resource, N))


def remote(cloudsim) -> list[dict]:
    return remote_entries(cloudsim)


def assert_converged(cloudsim, desired) -> None:
    entries = remote(cloudsim)
    assert len(entries) == len({e["objectId"] for e in entries}) == N  # no duplicates
    assert {e["objectId"]: e for e in entries} == desired
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_a_thousand_assignments_converge(
    celery_worker, cloudsim_clean, resource, desired, admin_user
):
    run = wait_for(request_sync(actor=Actor.operator(admin_user), resource=resource))
    assert (run.status, run.created, run.failed, run.done, run.planned) == (
        SyncStatus.SUCCEEDED,
        N,
        0,
        N,
        N,
    )
    assert_converged(cloudsim_clean, desired)
    again = wait_for(request_sync(actor=Actor.operator(admin_user), resource=resource))
    assert (again.unchanged, again.created, again.status) == (N, 0, SyncStatus.SUCCEEDED)


def test_throttling_errors_and_dropped_connections_still_converge(
    celery_worker, cloudsim_clean, resource, desired, admin_user
):
    # The first two requests surely fail (a 500, then a 429): a run of ~15 requests could
    # otherwise draw no 500 at all (7% each), and the test would prove nothing about them.
    cloudsim_clean.set_fault("500", service=ids.CONTOSO_ACS, times=1)
    cloudsim_clean.set_fault("429", service=ids.CONTOSO_ACS, times=1, arg=1)
    cloudsim_clean.set_fault("429", service=ids.CONTOSO_ACS, probability=0.3, arg=1)
    cloudsim_clean.set_fault("500", service=ids.CONTOSO_ACS, probability=0.1)
    cloudsim_clean.set_fault("drop", service=ids.CONTOSO_ACS, probability=0.05)
    cloudsim_clean.set_fault("drop_after", service=ids.CONTOSO_ACS, probability=0.05)
    run = wait_for(request_sync(actor=Actor.operator(admin_user), resource=resource))
    stats = cloudsim_clean.admin("GET", "/stats")
    assert stats["faults"].get("acs 429", 0) > 0 and stats["faults"].get("acs 500", 0) > 0
    assert (run.status, run.created, run.failed, run.done) == (SyncStatus.SUCCEEDED, N, 0, N)
    cloudsim_clean.clear_faults()
    assert_converged(cloudsim_clean, desired)


def test_a_worker_killed_mid_run_is_replaced_and_the_resource_converges(
    celery_worker, cloudsim_clean, resource, desired, admin_user
):
    cloudsim_clean.set_fault("latency", service=ids.CONTOSO_ACS, method="PATCH", arg=1000)
    first = request_sync(actor=Actor.operator(admin_user), resource=resource)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        first.refresh_from_db()
        if first.status == SyncStatus.RUNNING and first.done > 0:
            break
        time.sleep(0.05)
    assert first.status == SyncStatus.RUNNING and 0 < first.done < N, first.done
    celery_worker.kill()  # SIGKILL, the whole process group: no cleanup runs
    landed = len(remote(cloudsim_clean))
    assert 0 < landed < N
    cloudsim_clean.clear_faults()
    celery_worker.start().wait_ready()
    second = wait_for(request_sync(actor=Actor.operator(admin_user), resource=resource))
    assert second.pk != first.pk and second.status == SyncStatus.SUCCEEDED
    assert second.created + second.unchanged == N and second.unchanged >= landed
    first.refresh_from_db()
    assert first.status == SyncStatus.FAILED and "took over" in first.message
    assert_converged(cloudsim_clean, desired)
