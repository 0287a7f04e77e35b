"""Gauges read when Prometheus scrapes, not counted as things happen: how many tasks wait in each
Celery queue, and how many tenants are in each status. Both are facts of the shared stores
(broker, database), so any one web process can report them for the whole deployment."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue's messages in a list named after the queue, plus one
# list per priority step (``name\x06\x16<priority>``) when priorities are used.
_REDIS_PRIORITY_SEP = "\x06\x16"
_REDIS_PRIORITY_STEPS = (3, 6, 9)


def _redis_depths(url: str, names: tuple[str, ...]) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(name)
                for step in _REDIS_PRIORITY_STEPS:
                    pipe.llen(f"{name}{_REDIS_PRIORITY_SEP}{step}")
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = 1 + len(_REDIS_PRIORITY_STEPS)
    return {name: sum(lengths[i * per_queue : (i + 1) * per_queue]) for i, name in enumerate(names)}


def _filesystem_depths(folder: str, names: tuple[str, ...]) -> dict[str, int]:
    """kombu's filesystem transport writes one ``<stamp>_<uuid>.<queue>.msg`` file per message."""
    depths = dict.fromkeys(names, 0)
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return depths
    with entries:
        for entry in entries:
            queue = entry.name.partition(".")[2].removesuffix(".msg")
            if queue in depths:
                depths[queue] += 1
    return depths


def queue_depths() -> dict[str, int]:
    """Messages waiting in each of the portal's queues (portal/queues.py), from the broker."""
    from django.conf import settings

    from portal import queues

    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        return _redis_depths(url, queues.ALL)
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        return _filesystem_depths(str(folder), queues.ALL)
    return {}


class QueueDepthCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "portal_celery_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        try:
            depths = queue_depths()
        except Exception as exc:  # a scrape must still answer when the broker is down
            logger.warning("Cannot read queue depths: %s", type(exc).__name__)
            depths = {}
        for queue, depth in sorted(depths.items()):
            family.add_metric([queue], depth)
        yield family


class TenantStatusCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count

        from tenants.models import CustomerTenant, TenantStatus

        family = GaugeMetricFamily(
            "portal_tenants", "Customer tenants in each status.", labels=["status"]
        )
        counts = dict.fromkeys(TenantStatus.values, 0)
        rows = CustomerTenant.objects.values_list("status").annotate(n=Count("pk")).order_by()
        counts.update(dict(rows))
        for status, n in sorted(counts.items()):
            family.add_metric([status], n)
        yield family
