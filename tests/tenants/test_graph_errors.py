"""GraphError classification and the retry budget (bounded whatever Microsoft says)."""

from __future__ import annotations

import pytest

from tenants import graph_auth
from tenants.graph import GraphError


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (429, False),
        (500, False),
        (503, False),
        (None, False),
    ],
)
def test_4xx_is_permanent_except_429(status, permanent):
    assert GraphError.from_status(status, "x").permanent is permanent


def test_permanent_errors_are_not_retried():
    assert graph_auth.should_retry(GraphError.from_status(403, "no"), 0, 0, idempotent=True) < 0


def test_retry_after_is_honoured_but_capped():
    error = GraphError.from_status(429, "slow down", retry_after=3)
    assert graph_auth.should_retry(error, 0, 0, idempotent=True) == 3
    huge = GraphError.from_status(429, "slow down", retry_after=10_000)
    assert graph_auth.retry_delay(0, huge) == graph_auth.RETRY_AFTER_CAP


def test_attempts_and_total_wait_are_bounded():
    error = GraphError.from_status(503, "busy")
    assert graph_auth.should_retry(error, graph_auth.MAX_ATTEMPTS - 1, 0, idempotent=True) < 0
    assert graph_auth.should_retry(error, 0, graph_auth.TOTAL_WAIT_CAP, idempotent=True) < 0


def test_backoff_grows_and_is_capped():
    error = GraphError.from_status(500, "oops")
    delays = [graph_auth.retry_delay(n, error) for n in range(10)]
    assert all(d <= graph_auth.BACKOFF_CAP for d in delays)
    assert delays[0] <= graph_auth.BACKOFF_BASE < delays[4]


def test_creates_are_retried_only_after_429():
    assert graph_auth.should_retry(GraphError.from_status(500, "?"), 0, 0, idempotent=False) < 0
    assert graph_auth.should_retry(GraphError.from_status(429, "?"), 0, 0, idempotent=False) >= 0


def test_call_with_retries_stops_at_the_budget(monkeypatch):
    monkeypatch.setattr(graph_auth.time, "sleep", lambda s: None)
    calls = []

    def failing():
        calls.append(1)
        raise GraphError.from_status(503, "busy")

    with pytest.raises(GraphError):
        graph_auth.call_with_retries(failing, what="test")
    assert len(calls) == graph_auth.MAX_ATTEMPTS


def test_password_sign_in_is_refused_outside_the_demo(settings):
    settings.CLOUDSIM_MODE = False
    with pytest.raises(GraphError, match="demo"):
        graph_auth.acquire_user_token_by_password(
            tenant_id="fab12ca7-0000-4000-8000-000000000002",
            username="adele@fabrikam.example",
            password="x",
            scopes=["https://communication.azure.com/clients/.default"],
        )
