"""Tasks land on the queue of who waits for them: a person, a sweep, or a notification."""

from __future__ import annotations

import pytest

from portal import queues
from portal.celery import app


def _queue(name: str, args=(), kwargs=None, **options) -> str:
    """The queue Celery's own router sends this task to, with the portal's configuration."""
    route = app.amqp.router.route(options, name, args, kwargs or {})
    return route["queue"].name


@pytest.mark.parametrize("sweep", sorted(queues.SWEEPS))
def test_beats_sweeps_run_on_the_periodic_queue(settings, sweep):
    assert sweep in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert _queue(sweep) == "periodic"


def test_every_beat_entry_is_a_sweep(settings):
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == queues.SWEEPS


def test_verify_now_is_interactive_and_the_periodic_check_is_not():
    name = "tenants.tasks.verify_tenant"
    assert _queue(name, (7, "manual")) == "interactive"
    assert _queue(name, (7, "callback")) == "interactive"
    assert _queue(name, (7, "periodic")) == "periodic"
    assert _queue(name, (), {"tenant_pk": 7, "trigger": "periodic"}) == "periodic"


def test_sync_now_asked_in_a_request_is_interactive():
    assert _queue("assignments.tasks.run_sync", (), {"run_id": 3}) == "interactive"
    assert _queue("portal.ping") == "interactive"


def test_an_explicit_queue_wins():
    assert _queue("notifications.send_webhook", queue="notify") == "notify"


def test_a_worker_without_q_consumes_every_queue():
    assert {queue.name for queue in app.conf.task_queues} == {"interactive", "periodic", "notify"}
