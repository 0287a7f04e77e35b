"""A fixed-window rate limit for the public consent pages, counted atomically in the database.

Each hit is one ``UPDATE … SET hits = hits + 1`` on the client's row for the current minute
(created on its first hit), read back in the same transaction: concurrent requests queue on the
row lock, so exactly ``CONSENT_RATE_LIMIT`` get through on SQLite and PostgreSQL alike, whatever
the cache backend, and with Redis down.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from portal.models import RateLimitWindow

WINDOW_SECONDS = 60


def allow(
    *, scope: str, ident: str, limit: int | None = None, window_seconds: int = WINDOW_SECONDS
) -> bool:
    """Count one hit of ``ident`` on ``scope``; False when over ``limit`` per window.

    The limit is CONSENT_RATE_LIMIT per minute unless the caller names its own (a scope keeps
    one window length: its windows are numbered in that length).
    """
    limit = int(settings.CONSENT_RATE_LIMIT if limit is None else limit)
    window = int(time.time() // window_seconds)
    ident = ident[:64]
    rows = RateLimitWindow.objects.filter(scope=scope, ident=ident, window=window)
    created = False
    with transaction.atomic():
        if not rows.update(hits=F("hits") + 1):
            try:
                with transaction.atomic():
                    RateLimitWindow.objects.create(scope=scope, ident=ident, window=window, hits=1)
                created = True
            except IntegrityError:  # another request created it first
                rows.update(hits=F("hits") + 1)
        hits = rows.values_list("hits", flat=True).get()
    if created:
        # First hit of this client in this window: drop the scope's windows nobody counts any
        # more (after the commit, so it never waits on, or holds, another client's row lock).
        RateLimitWindow.objects.filter(scope=scope, window__lt=window - 1).delete()
    return hits <= limit
