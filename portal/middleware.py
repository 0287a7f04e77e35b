"""Middleware: health probes and host checks ahead of everything, and the request id."""

from __future__ import annotations

import logging
import re

from django.core.exceptions import DisallowedHost
from django.db import OperationalError
from django.http import HttpResponse, HttpResponseBadRequest

from portal.request_context import new_request_id, set_request_id

logger = logging.getLogger("portal.hosts")
logger_db = logging.getLogger("portal.database")
_VALID_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class RequestIdMiddleware:
    header = "X-Request-ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(self.header, "")
        request_id = incoming if _VALID_ID.match(incoming) else new_request_id()
        request.request_id = request_id
        set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            set_request_id(None)
        response[self.header] = request_id
        return response


class HealthProbeMiddleware:
    """Answer ``/healthz`` and ``/readyz`` before anything reads the ``Host`` header.

    Orchestrators probe with whatever host they like (compose and Kubernetes use the container's
    own address, ``127.0.0.1:8000``), which is not one of the portal's public names. The probes
    are served here, ahead of the chain, so neither host validation nor the HTTPS redirect can
    turn a healthy process into a failing check. They still pass through the middleware that
    sets the security headers (none of which reads the host), without the HTTPS redirect.
    """

    def __init__(self, get_response):
        from csp.middleware import CSPMiddleware
        from django.middleware.clickjacking import XFrameOptionsMiddleware
        from django.middleware.security import SecurityMiddleware

        from portal import health

        self.get_response = get_response
        self.probes = {"/healthz": health.healthz, "/readyz": health.readyz}
        security = SecurityMiddleware(XFrameOptionsMiddleware(CSPMiddleware(self._probe)))
        security.redirect = False  # a probe is never sent to HTTPS (the redirect reads the host)
        self.serve_probe = security

    def _probe(self, request):
        return self.probes[request.path_info](request)

    def __call__(self, request):
        if request.path_info in self.probes:
            return self.serve_probe(request)
        return self.get_response(request)


class AllowedHostMiddleware:
    """A request for a host the portal does not serve gets a plain 400 and one WARNING line.

    Django raises ``DisallowedHost`` from the first ``request.get_host()``, logs it at ERROR with
    a traceback and renders the 400 page, whose layout itself needs the host. Checking here,
    before every other middleware, keeps a scanner's bad ``Host`` from looking like a fault.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.get_host()
        except DisallowedHost:
            host = request.META.get("HTTP_HOST", "")[:100]
            logger.warning("Refused a request for host %r (not in DJANGO_ALLOWED_HOSTS)", host)
            response = HttpResponseBadRequest(
                "Bad Request: this host name is not served here.\n", content_type="text/plain"
            )
            response._has_been_logged = True  # the line above is the one; no django.request line
            return response
        return self.get_response(request)


class DatabaseBusyMiddleware:
    """A write that could not get SQLite's lock in time is a 503 that says so, not a 500.

    SQLite (the demo's database) takes one writer at a time; past the busy timeout
    (``SQLITE_BUSY_TIMEOUT``) it raises ``OperationalError: database is locked``. Nothing was
    written (the transaction rolled back), so the person can simply try again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not (isinstance(exception, OperationalError) and "locked" in str(exception)):
            return None
        logger_db.warning(
            "Database busy: %s %s was refused (%s)", request.method, request.path, exception
        )
        response = HttpResponse(
            "The database is busy with another change and this one could not be saved. "
            "Nothing was changed; please try again in a moment.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "5"
        response._has_been_logged = True
        return response
