"""Work that must run is written to the database first; the broker only carries a wake-up call.

A service commits a row that says what must happen (a ``SyncRun`` for a sync) and, after the
commit, hands its task to the broker with ``publish``. When the broker is down the row stays
and says so; nothing is lost. The **relay**, a thread in every Celery worker process, calls the
sweeps named in ``settings.OUTBOX_SWEEPS`` every ``settings.OUTBOX_RELAY_SECONDS``. A sweep
finds rows whose task never reached the broker (or whose worker went away) and publishes
again. Beat's periodic schedule is not needed for any of this.

Sweeps must be safe to run in several workers at once (claim a row with a conditional UPDATE
before publishing) and tasks must be idempotent: the relay may send a task twice.

Adopting it elsewhere (e.g. tenant verification): give the row an ``enqueued_at``-like column,
publish after commit with ``publish``, write a sweep ``def sweep() -> int`` and add its dotted
path to ``OUTBOX_SWEEPS``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from celery import bootsteps

log = logging.getLogger(__name__)

# A request waits at most about a second for an unreachable broker; the relay does the rest.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}


def publish(task: Any, *, kwargs: dict[str, Any], countdown: float = 0) -> bool:
    """Hand ``task`` to the broker. False (logged, never raised) when the broker is unreachable."""
    try:
        task.apply_async(kwargs=kwargs, countdown=countdown, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception as exc:  # kombu raises several kinds; all mean "not sent"
        log.warning("Could not send %s to the broker (%s); the relay will retry", task.name, exc)
        return False
    return True


def run_sweeps() -> int:
    """One pass of every configured sweep; returns how many tasks they sent. Never raises."""
    from django.conf import settings
    from django.db import close_old_connections, connections
    from django.utils.module_loading import import_string

    sent = 0
    for path in settings.OUTBOX_SWEEPS:
        try:
            sweep: Callable[[], int] = import_string(path)
            sent += sweep() or 0
        except Exception:
            log.exception("Outbox sweep %s failed; it runs again at the next tick", path)
    if sent:
        log.info("Outbox relay sent %d task(s)", sent)
    # Hold no database connection between ticks: worker children are forked from this process.
    close_old_connections()
    connections.close_all()
    return sent


class Relay(bootsteps.StartStopStep):
    """A worker step: a daemon thread that runs the sweeps every ``OUTBOX_RELAY_SECONDS``."""

    requires = ("celery.worker.components:Pool",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, worker: Any) -> None:
        self._thread = threading.Thread(target=self._loop, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, worker: Any) -> None:
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        from django.conf import settings

        log.info("Outbox relay started (every %s s)", settings.OUTBOX_RELAY_SECONDS)
        while not self._stopping.wait(settings.OUTBOX_RELAY_SECONDS):
            run_sweeps()
