"""A real worker process takes a task from the real broker and returns its result."""

import pytest

from portal.tasks import ping

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_runs_a_task_and_returns_its_result(celery_worker, settings):
    result = ping.delay("hello")
    assert result.get(timeout=30)["value"] == "hello"


def test_task_carries_the_request_id_of_its_caller(celery_worker):
    from portal.request_context import set_request_id

    set_request_id("req-1234abcd")
    try:
        result = ping.delay()
    finally:
        set_request_id(None)
    assert result.get(timeout=30)["request_id"] == "req-1234abcd"
