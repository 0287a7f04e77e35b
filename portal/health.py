"""Liveness and readiness endpoints for load balancers and orchestrators."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
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


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
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
    """The database and the Celery broker answer; 503 naming the failing part otherwise."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = {name: error for name, error in checks.items() if error}
    body = {
        "status": "unavailable" if failing else "ok",
        "checks": {name: (failing.get(name) or "ok") for name in checks},
        "broker": settings.CELERY_BROKER_URL.split("://", 1)[0],
    }
    return JsonResponse(body, status=503 if failing else 200)
