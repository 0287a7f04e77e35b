"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.roles import public


@public
@never_cache
@require_GET
def healthz(request):
    """The process is alive and serving requests; checks nothing else."""
    return JsonResponse({"status": "ok"})


# How long readiness waits for SQLite's write lock: well inside a probe's timeout (4 s).
SQLITE_PROBE_BUSY_MS = 1000


def _check_database() -> str | None:
    """The database answers and can take a write (answering reads is not enough)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    try:
        return _check_writable()
    except Exception as exc:
        return f"database cannot write: {type(exc).__name__}: {str(exc)[:120]}"


def _check_writable() -> str | None:
    if connection.vendor == "sqlite":
        # One writer at a time: take the write lock (BEGIN IMMEDIATE, the connection's
        # transaction mode) with a short wait, and give it back at once.
        busy_ms = int(connection.settings_dict.get("OPTIONS", {}).get("timeout", 5) * 1000)
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_PROBE_BUSY_MS}")
        try:
            with transaction.atomic():
                transaction.set_rollback(True)
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        return None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('transaction_read_only'), pg_is_in_recovery()")
            read_only, recovering = cursor.fetchone()
        if read_only == "on" or recovering:
            return "database cannot write: the server is read-only (a standby?)"
    return None


def _check_broker() -> str | None:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {type(exc).__name__}"
    return None


@public
@never_cache
@require_GET
def readyz(request):
    """The database takes writes and the Celery broker answers; 503 naming the failing part."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "unavailable" if failing else "ok",
        "checks": {name: (failing.get(name) or "ok") for name in checks},
        "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
    }
    return JsonResponse(body, status=503 if failing else 200)
