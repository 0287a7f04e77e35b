"""Prometheus metrics: what the portal counts, and the one function per kind of event that
counts it. Served by ``portal/metrics_http.py``; read-at-scrape gauges live in
``portal/metrics_collectors.py``.

Processes: gunicorn forks workers and Celery forks pool children, each counting on its own. With
``PROMETHEUS_MULTIPROC_DIR`` set (as compose does), prometheus-client writes every process's
values to files in that folder and the endpoint adds them up (its "multiprocess mode"). The
variable must be in the environment before this module is first imported, which is why it is a
process environment variable and not a Django setting.
"""

from __future__ import annotations

import os
from typing import Any

# True when this process writes its values to the multiprocess folder (read once, as
# prometheus-client itself does at import). The folder must exist before the first value.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
if MULTIPROCESS:
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: E402

# Our metrics, kept off prometheus-client's global registry so that a process's own values and
# those of the multiprocess folder are never both served.
OWN = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10)

HTTP_DURATION = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name (not raw path: paths carry ids and tokens).",
    ["view", "method", "status"],
    buckets=_LATENCY_BUCKETS,
    registry=OWN,
)
TASKS = Counter(
    "portal_celery_tasks",
    "Celery tasks run, by task, queue and final state (SUCCESS, FAILURE, RETRY, ...).",
    ["task", "queue", "state"],
    registry=OWN,
)
TASK_DURATION = Histogram(
    "portal_celery_task_duration_seconds",
    "Time a Celery task ran, by task and queue.",
    ["task", "queue"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
    registry=OWN,
)
MICROSOFT_CALLS = Counter(
    "portal_microsoft_calls",
    "HTTP calls to Microsoft (graph, login, acs) by answer status; 'error' when none came.",
    ["service", "status"],
    registry=OWN,
)
SYNC_ENTRIES = Counter(
    "portal_sync_entries",
    "Assignment entries handled by finished sync runs, by outcome; rate() gives entries/s.",
    ["outcome"],
    registry=OWN,
)
SYNC_RUNS = Counter(
    "portal_sync_runs",
    "Finished sync runs by status.",
    ["status"],
    registry=OWN,
)
SYNC_OUTCOMES = ("created", "updated", "deleted", "unchanged", "failed")
SWEEPS = Counter(
    "portal_sweeps",
    "Periodic sweeps by sweep and outcome: ran, or skipped (the previous one still going).",
    ["sweep", "outcome"],
    registry=OWN,
)
SWEEP_ITEMS = Counter(
    "portal_sweep_items",
    "Items a sweep queued, or skipped (still queued, or checked within the interval).",
    ["sweep", "outcome"],
    registry=OWN,
)


def microsoft_call(service: str, status: int | str) -> None:
    """One HTTP answer from Microsoft (or ``"error"`` when no answer came)."""
    MICROSOFT_CALLS.labels(service=service, status=str(status)).inc()


def sync_finished(*, status: str, counts: dict[str, Any]) -> None:
    """A finished sync run: its status and how many entries it created, deleted, ..."""
    SYNC_RUNS.labels(status=status).inc()
    for outcome in SYNC_OUTCOMES:
        value = counts.get(outcome) or 0
        if isinstance(value, int) and value > 0:
            SYNC_ENTRIES.labels(outcome=outcome).inc(value)


def sweep_ran(sweep: str, *, ran: bool) -> None:
    SWEEPS.labels(sweep=sweep, outcome="ran" if ran else "skipped").inc()


def sweep_items(sweep: str, *, queued: int, skipped: int) -> None:
    if queued:
        SWEEP_ITEMS.labels(sweep=sweep, outcome="queued").inc(queued)
    if skipped:
        SWEEP_ITEMS.labels(sweep=sweep, outcome="skipped").inc(skipped)


def task_finished(*, task: str, queue: str, state: str, seconds: float | None) -> None:
    TASKS.labels(task=task, queue=queue, state=state).inc()
    if seconds is not None:
        TASK_DURATION.labels(task=task, queue=queue).observe(seconds)


def mark_process_dead(pid: int) -> None:
    """A gunicorn worker or Celery child ended: drop its live-gauge files (counters stay)."""
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def httpx_hooks(service: str) -> dict[str, list]:
    """``event_hooks`` for an ``httpx.Client`` calling ``service``: counts each answer."""

    def count(response: Any) -> None:
        microsoft_call(service, response.status_code)

    return {"response": [count]}


def async_httpx_hooks(service: str) -> dict[str, list]:
    """The same for an ``httpx.AsyncClient`` (its hooks must be coroutines)."""

    async def count(response: Any) -> None:
        microsoft_call(service, response.status_code)

    return {"response": [count]}


def requests_hook(service: str):
    """A ``requests`` response hook (msal's session) counting each answer."""

    def count(response: Any, *args: Any, **kwargs: Any) -> None:
        microsoft_call(service, response.status_code)

    return count
