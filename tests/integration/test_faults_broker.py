"""Faults of the machinery around a sync: the broker goes away, a worker is SIGKILL'd.

Each test runs its own redis-server and its own worker processes (never the shared Redis), so
it can stop them. Nothing here runs beat: recovery comes from the outbox relay in the workers.
"""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.utils import timezone

from assignments.models import AcsResource, Assignment, SyncRun, SyncState, SyncStatus
from assignments.outbox import WAITING_FOR_BROKER
from assignments.services import request_sync
from assignments.testing import FINISHED, add_users, empty_resource, remote_entries, wait_until
from audit.services import Actor
from cloudsim import ids
from tests.support import worker as worker_support
from tests.support.redis import RedisServer, celery_app_on

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
LOCK_SECONDS = 8


@pytest.fixture
def only_our_workers():
    """Pause the session's shared worker while the test runs its own.

    Every worker's relay serves the one test database: the shared worker would send this
    test's runs through the shared broker, which does not go down when the test stops Redis.
    """
    paused = list(worker_support.WorkerProcess.running)
    for worker in paused:
        worker.stop()
    yield
    for worker in paused:
        worker.start().wait_ready()


@pytest.fixture
def redis(only_our_workers, tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    with celery_app_on(server.url):
        yield server
    server.stop()


@pytest.fixture
def start_worker(redis, microsoft_env, tmp_path):
    """Workers on the test database and the private Redis; all stopped after the test."""
    started: list[worker_support.WorkerProcess] = []

    def start(name: str) -> worker_support.WorkerProcess:
        env = {
            **os.environ,
            **microsoft_env,
            "DATABASE_URL": worker_support.test_database_url(),
            "PORTAL_VAR_DIR": str(settings.VAR_DIR),
            "DJANGO_ENV": "test",
            "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url,
            "CELERY_RESULT_BACKEND": redis.url,
            "ACS_SYNC_LOCK_SECONDS": str(LOCK_SECONDS),
            "ACS_SYNC_BATCH_SIZE": "50",
            "ACS_SYNC_CONCURRENCY": "2",
        }
        worker = worker_support.WorkerProcess(env, tmp_path / f"{name}.log").start()
        started.append(worker)
        deadline = time.monotonic() + 90
        while " ready." not in worker.log_tail(200):
            assert time.monotonic() < deadline, worker.log_tail()
            time.sleep(0.2)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def resource(microsoft_env, cloudsim_clean) -> AcsResource:
    return empty_resource(cloudsim_clean)


def assign(resource: AcsResource, count: int) -> set[str]:
    return set(add_users(resource, count))


def remote_ids(cloudsim) -> set[str]:
    return {e["objectId"] for e in remote_entries(cloudsim)}


def test_a_redis_outage_during_sync_now_ends_synced_once_redis_is_back_without_beat(
    redis, start_worker, cloudsim_clean, resource, operator_client
):
    wanted = assign(resource, 5)
    start_worker("worker")
    redis.stop()
    response = operator_client.post(f"/resources/{resource.pk}/", {"action": "sync"}, follow=True)
    assert response.status_code == 200  # the run page, not a 500
    assert WAITING_FOR_BROKER in response.content.decode()
    run = SyncRun.objects.get(resource=resource)
    assert (run.status, run.enqueued_at) == (SyncStatus.QUEUED, None)
    time.sleep(2)  # the outage goes on a while; the relay's attempts fail meanwhile
    redis.start()
    run = wait_until(
        lambda: SyncRun.objects.filter(pk=run.pk, status__in=FINISHED).first(), 90, "finished"
    )
    assert (run.status, run.created, run.message) == (SyncStatus.SUCCEEDED, 5, "In sync.")
    assert remote_ids(cloudsim_clean) == wanted
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}


def test_a_worker_sigkilled_mid_run_is_replaced_within_twice_the_lock_lifetime(
    redis, start_worker, cloudsim_clean, resource, admin_user
):
    wanted = assign(resource, 1000)
    first_worker = start_worker("first")
    # Slow writes, two at a time: the run lasts over 30 s, so it is still going once the
    # second worker is up (which takes seconds on a loaded machine).
    cloudsim_clean.set_fault("latency", service=ids.CONTOSO_ACS, method="PATCH", arg=3000)
    first = request_sync(actor=Actor.operator(admin_user), resource=resource)
    wait_until(
        lambda: SyncRun.objects.filter(pk=first.pk, status=SyncStatus.RUNNING, done__gt=0).exists(),
        60,
        "running",
    )
    start_worker("second")  # idle: the run is on the first worker
    first.refresh_from_db()
    assert first.status == SyncStatus.RUNNING and first.done < 1000
    killed_at = timezone.now()
    first_worker.kill()  # SIGKILL, the whole process group: no cleanup runs
    cloudsim_clean.clear_faults()
    replacement = wait_until(
        lambda: SyncRun.objects.exclude(pk=first.pk).filter(started_at__isnull=False).first(),
        4 * LOCK_SECONDS,
        "replaced",
    )
    took = (replacement.started_at - killed_at).total_seconds()
    assert took <= 2 * LOCK_SECONDS, f"replaced after {took:.1f} s"
    replacement = wait_until(
        lambda: SyncRun.objects.filter(pk=replacement.pk, status__in=FINISHED).first(),
        90,
        "finished",
    )
    first.refresh_from_db()
    assert first.status == SyncStatus.FAILED and "went away" in first.message
    assert (replacement.status, replacement.trigger) == (SyncStatus.SUCCEEDED, "recovery")
    assert remote_ids(cloudsim_clean) == wanted
