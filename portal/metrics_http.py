"""The ``/metrics`` endpoint and the timing of every request by route.

Served from middleware ahead of the host check, like the health probes: Prometheus scrapes a
container by its service address (``web:8000``), not the portal's public name. Only a caller
that sends ``Authorization: Bearer <METRICS_TOKEN>`` is answered; with no token set the endpoint
does not exist (404), so a deployment exposes nothing it did not ask for.
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

from portal import metrics
from portal.metrics_collectors import QueueDepthCollector, TenantStatusCollector

PATH = "/metrics"
_PROBES = {"/healthz": "healthz", "/readyz": "readyz"}  # answered before URL resolution


class _Own(Collector):
    """This process's values, when it does not write them to the multiprocess folder."""

    def collect(self):
        return metrics.OWN.collect()


def registry() -> CollectorRegistry:
    """What one scrape reports: every process of the multiprocess folder (or this process
    alone) plus the gauges read now from the broker and the database."""
    from prometheus_client import multiprocess

    scrape = CollectorRegistry(auto_describe=False)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        multiprocess.MultiProcessCollector(scrape, path=folder)
    if not metrics.MULTIPROCESS:
        scrape.register(_Own())
    scrape.register(QueueDepthCollector())
    scrape.register(TenantStatusCollector())
    return scrape


def _authorized(request: HttpRequest) -> bool:
    expected = f"Bearer {settings.METRICS_TOKEN}"
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), expected.encode())


def serve(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_TOKEN:
        return HttpResponseNotFound("Not found", content_type="text/plain")
    if not _authorized(request):
        response = HttpResponse("Unauthorized", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def view_label(request: HttpRequest) -> str:
    """The route name (``tenants:detail``), never the raw path: paths carry ids and tokens."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match._func_path
    return _PROBES.get(request.path_info, "unmatched")


class MetricsMiddleware:
    """Serve ``/metrics``; time every other request by route, method and status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == PATH:
            return serve(request)
        started = time.perf_counter()
        response = self.get_response(request)
        metrics.HTTP_DURATION.labels(
            view=view_label(request), method=request.method, status=str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response
