"""When to try a failed delivery again: exponential backoff with jitter, over hours.

Attempt n (1-based) that failed waits ``base * 4**(n-1)`` seconds, capped, times a random
factor in [0.75, 1.25] so receivers that failed together are not retried together. With the
defaults (30 s, cap 6 h, 8 webhook attempts): about 30 s, 2 min, 8 min, 32 min, 2 h, 6 h, 6 h,
so a receiver that is down for most of a day still gets the event (Standard Webhooks
recommends retrying over at least a day for a short outage; Svix's schedule is similar).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings

from notifications.models import Channel


def max_attempts(channel: str) -> int:
    if channel == Channel.EMAIL:
        return settings.EMAIL_NOTIFY_MAX_ATTEMPTS
    return settings.WEBHOOK_MAX_ATTEMPTS


def next_delay(attempt: int, channel: str) -> timedelta | None:
    """The wait after failed attempt ``attempt``; None when it was the last one."""
    if attempt >= max_attempts(channel):
        return None
    seconds = min(
        settings.NOTIFY_RETRY_CAP_SECONDS, settings.NOTIFY_RETRY_BASE_SECONDS * 4 ** (attempt - 1)
    )
    return timedelta(seconds=seconds * random.uniform(0.75, 1.25))  # noqa: S311 (jitter)
