"""A small fixed-window rate limit for the public consent pages (Django cache based)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def allow(*, scope: str, ident: str) -> bool:
    """Count one hit of ``ident`` on ``scope``; False when over CONSENT_RATE_LIMIT per minute."""
    limit = int(getattr(settings, "CONSENT_RATE_LIMIT", 60))
    window = int(time.time() // 60)
    key = f"ratelimit:{scope}:{ident}:{window}"
    if cache.add(key, 1, timeout=90):
        return True
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=90)
        return True
