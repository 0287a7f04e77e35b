"""The sync run is the outbox: committed first, sent after, re-sent by the relay when needed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from assignments import outbox
from assignments.models import AcsResource, SyncRun, SyncStatus
from assignments.services import request_sync
from audit.models import AuditEvent
from audit.services import Actor
from tests.assignments.conftest import sync_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """The broker refuses every message, as kombu does when Redis is not there."""
    from assignments.tasks import run_sync

    def refuse(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_sync, "apply_async", refuse)


@pytest.mark.django_db(transaction=True)  # the run's task is sent on a real commit
def test_sync_now_without_a_broker_keeps_the_run_and_says_why(
    operator_client, offline_resource, broker_down
):
    response = operator_client.post(
        f"/resources/{offline_resource.pk}/", {"action": "sync"}, follow=True
    )
    assert response.status_code == 200
    assert outbox.WAITING_FOR_BROKER in response.content.decode()
    run = SyncRun.objects.get()
    assert (run.status, run.enqueued_at, run.message) == (
        SyncStatus.QUEUED,
        None,
        outbox.WAITING_FOR_BROKER,
    )


def test_the_relay_sends_a_run_whose_task_never_reached_the_broker(
    operator_user, offline_resource, queued_tasks
):
    run = SyncRun.objects.create(
        resource=offline_resource, trigger="manual", message=outbox.WAITING_FOR_BROKER
    )
    assert outbox.relay_sync_runs() == 1
    assert queued_tasks[0]["kwargs"] == {"run_id": run.pk}
    run.refresh_from_db()
    assert run.enqueued_at is not None and run.message == ""
    assert outbox.relay_sync_runs() == 0  # sent once, not at every tick


def test_the_relay_replaces_a_run_whose_worker_went_away(offline_resource, queued_tasks, settings):
    started = timezone.now() - timedelta(seconds=settings.ACS_SYNC_LOCK_SECONDS * 2)
    dead = SyncRun.objects.create(
        resource=offline_resource, trigger="manual", status=SyncStatus.RUNNING, started_at=started
    )
    AcsResource.objects.filter(pk=offline_resource.pk).update(
        sync_locked_until=timezone.now() - timedelta(seconds=1), sync_locked_by="run-dead"
    )
    outbox.relay_sync_runs()
    dead.refresh_from_db()
    successor = SyncRun.objects.get(status=SyncStatus.QUEUED)
    assert dead.status == SyncStatus.FAILED and "went away" in dead.message
    assert successor.trigger == "recovery" and successor.enqueued_at is not None
    assert [t["kwargs"] for t in queued_tasks] == [{"run_id": successor.pk}]
    event = AuditEvent.objects.get(action="sync.queued")
    assert event.details["replaces"] == dead.pk


def test_the_relay_leaves_a_run_alone_while_its_lock_is_alive(offline_resource, queued_tasks):
    SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status=SyncStatus.RUNNING,
        started_at=timezone.now() - timedelta(minutes=5),
    )
    AcsResource.objects.filter(pk=offline_resource.pk).update(
        sync_locked_until=timezone.now() + timedelta(seconds=30), sync_locked_by="run-alive"
    )
    assert outbox.relay_sync_runs() == 0
    assert SyncRun.objects.get().status == SyncStatus.RUNNING and not queued_tasks


@pytest.mark.django_db(transaction=True)  # a sync runs as in a worker, on real commits
def test_a_sync_now_made_during_a_run_starts_when_the_lock_is_released(
    operator_user, offline_resource, queued_tasks
):
    waiting = request_sync(actor=Actor.operator(operator_user), resource=offline_resource)
    queued_tasks.clear()  # its first message met the busy lock and waits out a countdown
    sync_now(offline_resource)  # the run in progress ends and releases the lock
    assert [t["kwargs"] for t in queued_tasks] == [{"run_id": waiting.pk}]
    assert queued_tasks[0]["countdown"] == 0


@pytest.mark.django_db(transaction=True)
def test_sync_now_starts_a_follow_up_run_at_once_instead_of_after_its_delay(
    operator_user, offline_resource, queued_tasks
):
    follow_up = SyncRun.objects.create(
        resource=offline_resource, trigger="retry", enqueued_at=timezone.now()
    )
    run = request_sync(actor=Actor.operator(operator_user), resource=offline_resource)
    assert run.pk == follow_up.pk and run.trigger == "manual"
    assert [(t["kwargs"], t["countdown"]) for t in queued_tasks] == [({"run_id": run.pk}, 0)]
