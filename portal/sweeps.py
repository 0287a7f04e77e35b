"""Periodic sweeps that never pile up.

A sweep (beat: re-verify every tenant) fans out one task per item. When the items take longer
than the interval (10,000 tenants, a slow Graph), the next sweep must not queue them all again:
an item still queued from an earlier sweep, or checked by one within the interval, is skipped.
The marks live in the cache (Redis in production, shared by beat and every worker).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache

# A queued mark outlives a lost message by at most this much (the item is then queued again).
QUEUED_MAX = timedelta(hours=6)


def _keys(sweep: str, item: object) -> tuple[str, str]:
    return f"sweep:{sweep}:queued:{item}", f"sweep:{sweep}:done:{item}"


def claim(sweep: str, item: object, *, interval: timedelta) -> bool:
    """True when ``item`` should be queued now: it is neither queued by an earlier sweep nor
    done within ``interval``. Marks it queued."""
    queued, done = _keys(sweep, item)
    if cache.get(done) is not None:
        return False
    return cache.add(queued, 1, timeout=int(max(QUEUED_MAX, 2 * interval).total_seconds()))


def started(sweep: str, item: object, *, interval: timedelta) -> None:
    """The item's task runs: no longer queued; skipped by sweeps for the rest of the interval.

    The done mark lasts a little less than the interval, so the next sweep on schedule does
    queue the item again.
    """
    queued, done = _keys(sweep, item)
    cache.set(done, 1, timeout=max(1, int(interval.total_seconds() * 0.9)))
    cache.delete(queued)
