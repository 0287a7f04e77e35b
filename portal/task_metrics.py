"""Celery task counts, durations and failures by task and queue (Celery signals), and the
cleanup multiprocess mode needs when a pool child ends (``portal/metrics.py``)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_ready

from portal import metrics

logger = logging.getLogger(__name__)


def _queue(task: Any) -> str:
    request = task.request
    if request.is_eager:
        return "eager"
    return (request.delivery_info or {}).get("routing_key") or "unknown"


@task_prerun.connect
def _started(task: Any = None, **kwargs: Any) -> None:
    if task is not None:
        task.request.portal_metrics_started = time.perf_counter()


@task_postrun.connect
def _finished(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if task is None:
        return
    started = getattr(task.request, "portal_metrics_started", None)
    metrics.task_finished(
        task=task.name,
        queue=_queue(task),
        state=state or "UNKNOWN",
        seconds=time.perf_counter() - started if started is not None else None,
    )


@worker_process_shutdown.connect
def _child_ended(pid: int | None = None, **kwargs: Any) -> None:
    metrics.mark_process_dead(pid or os.getpid())


@worker_ready.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    """With ``METRICS_PORT`` set, a worker serves its pool's metrics on that port (compose:
    each worker container has its own multiprocess folder, so the web endpoint cannot add them
    up). Not published outside the compose network; tasks and queues only, no page data."""
    port = int(os.environ.get("METRICS_PORT") or 0)
    if not port:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry = metrics.OWN
    try:
        start_http_server(port, addr=os.environ.get("METRICS_ADDR", "0.0.0.0"), registry=registry)  # noqa: S104
    except OSError as exc:  # the port is taken: the worker still works, its metrics are missing
        logger.warning("Cannot serve worker metrics on port %s: %s", port, exc)
