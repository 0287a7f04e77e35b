"""Celery beat's scheduler, with a heartbeat file for the orchestrator's health check."""

from __future__ import annotations

from pathlib import Path

from celery.beat import PersistentScheduler


class HeartbeatScheduler(PersistentScheduler):
    """``PersistentScheduler`` that touches ``<schedule file>.heartbeat`` on every tick.

    The schedule file itself is no sign of life: beat writes it only after sending a task (every
    15 minutes or more here), and its name depends on the dbm module Python was built with
    (``celerybeat-schedule`` with gdbm, ``.dat``/``.dir`` with dbm.dumb). A tick happens at
    least every ``beat_max_loop_interval`` (300 s), so compose's check allows 600 s.
    """

    schedule_filename: str  # set by PersistentScheduler.__init__; missing from celery-types

    def tick(self, *args, **kwargs) -> float:
        interval = super().tick(*args, **kwargs)
        Path(f"{self.schedule_filename}.heartbeat").touch()
        return interval
