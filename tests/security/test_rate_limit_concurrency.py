"""The consent pages' rate limit holds when many requests arrive at once, on every backend."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection

from tenants import ratelimit

THREADS = 16
HITS_EACH = 12


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_sixteen_threads_get_exactly_the_limit_through(settings):
    settings.CONSENT_RATE_LIMIT = 50
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def hammer() -> None:
        try:
            start.wait()
            for _ in range(HITS_EACH):
                ok = ratelimit.allow(scope="consent-landing", ident="203.0.113.9")
                with lock:
                    allowed.append(ok)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(allowed) == THREADS * HITS_EACH
    assert allowed.count(True) == 50
    # Another address is counted on its own.
    assert ratelimit.allow(scope="consent-landing", ident="198.51.100.7")
