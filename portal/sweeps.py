"""Periodic sweeps that never pile up.

A sweep (beat: re-verify every tenant, sync every resource) fans out one task per item. When
the items take longer than the interval (10,000 tenants, a slow Graph), the next sweep must not
queue them all again:

- an item still queued from an earlier sweep, or checked by one within the interval, is skipped
  (``claim`` / ``started``; the callers also skip what the database says was checked within the
  interval, so a "Verify now" or a restart of Redis does not bring an item forward);
- a sweep whose items have not all started yet is still going: the next one does not start
  (``begin`` / ``finish``). It counts its items outstanding; the last one to start ends it.

The marks live in the cache (Redis in production, shared by beat and every worker). Every mark
expires (``QUEUED_MAX`` at most), so a lost message or a killed worker delays an item, never
stops the sweeps.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.core.cache import cache

from portal import metrics

logger = logging.getLogger(__name__)

# A queued mark outlives a lost message by at most this much (the item is then queued again).
QUEUED_MAX = timedelta(hours=6)


def _keys(sweep: str, item: object) -> tuple[str, str]:
    return f"sweep:{sweep}:queued:{item}", f"sweep:{sweep}:done:{item}"


def _running_keys(sweep: str) -> tuple[str, str]:
    return f"sweep:{sweep}:running", f"sweep:{sweep}:outstanding"


def _queued_timeout(interval: timedelta) -> int:
    return int(max(QUEUED_MAX, 2 * interval).total_seconds())


def done_within(interval: timedelta) -> timedelta:
    """How long an item checked counts as checked: a little less than the interval, so the next
    sweep on schedule does take it again."""
    return interval * 0.9


def begin(sweep: str, *, interval: timedelta) -> bool:
    """True when this sweep may run: no earlier sweep of the same name is still going (its
    items not all started). The caller then ``claim``s items and calls ``finish``."""
    running, outstanding = _running_keys(sweep)
    timeout = _queued_timeout(interval)
    if not cache.add(running, 1, timeout=timeout):
        logger.info("Sweep %s skipped: the previous one is still going", sweep)
        metrics.sweep_ran(sweep, ran=False)
        return False
    metrics.sweep_ran(sweep, ran=True)
    # The sweep's own hold: items that start while it is still queueing cannot end it.
    cache.set(outstanding, 1, timeout=timeout)
    return True


def finish(sweep: str) -> None:
    """The sweep has queued all its items: it ends when the last of them starts (now, if none)."""
    _release(sweep)


def _release(sweep: str) -> None:
    running, outstanding = _running_keys(sweep)
    try:
        left = cache.decr(outstanding)
    except ValueError:  # expired or never set (an item of a sweep from before a restart)
        return
    if left <= 0:
        cache.delete_many([running, outstanding])


def claim(sweep: str, item: object, *, interval: timedelta) -> bool:
    """True when ``item`` should be queued now: it is neither queued by an earlier sweep nor
    done within ``interval``. Marks it queued and counts it as outstanding for the sweep."""
    queued, done = _keys(sweep, item)
    if cache.get(done) is not None:
        return False
    if not cache.add(queued, 1, timeout=_queued_timeout(interval)):
        return False
    with contextlib.suppress(ValueError):  # claimed outside a sweep (no begin): nothing to count
        cache.incr(_running_keys(sweep)[1])
    return True


def started(sweep: str, item: object, *, interval: timedelta) -> None:
    """The item's task runs: no longer queued; skipped by sweeps for the rest of the interval;
    one fewer outstanding for the sweep that queued it."""
    queued, done = _keys(sweep, item)
    cache.set(done, 1, timeout=max(1, int(done_within(interval).total_seconds())))
    if cache.delete(queued):
        _release(sweep)
