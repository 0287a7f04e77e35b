"""App-only tokens are shared between worker processes: a tenant's token is asked of Entra once,
whichever process checks the tenant next; "Verify now" (``forget_tenant``) asks again."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from cloudsim import ids
from tenants import graph_auth

pytestmark = pytest.mark.django_db


def token_requests(microsoft) -> int:
    routes = microsoft.admin("GET", "/stats")["routes"]
    return sum(
        n for route, n in routes.items() if route.startswith("login POST") and "token" in route
    )


def another_process() -> None:
    """What a different worker process has: none of this one's MSAL applications."""
    with graph_auth._apps_lock:
        graph_auth._apps.clear()


def test_a_token_is_asked_of_entra_once_for_every_process(microsoft):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    microsoft.admin("POST", "/stats/reset")
    first = graph_auth.acquire_app_token(tenant_id=ids.FABRIKAM_TENANT_ID)
    another_process()
    assert graph_auth.acquire_app_token(tenant_id=ids.FABRIKAM_TENANT_ID) == first
    assert token_requests(microsoft) == 1


def test_forgetting_a_tenant_asks_entra_again_in_every_process(microsoft):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    graph_auth.acquire_app_token(tenant_id=ids.FABRIKAM_TENANT_ID)
    graph_auth.acquire_app_token(tenant_id=ids.CONTOSO_TENANT_ID)
    microsoft.admin("POST", "/stats/reset")
    graph_auth.forget_tenant(ids.FABRIKAM_TENANT_ID)  # "Verify now" in some process
    another_process()
    graph_auth.acquire_app_token(tenant_id=ids.FABRIKAM_TENANT_ID)
    graph_auth.acquire_app_token(tenant_id=ids.CONTOSO_TENANT_ID)  # still shared
    assert token_requests(microsoft) == 1


def test_the_shared_token_is_not_readable_in_the_cache(microsoft):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    token = graph_auth.acquire_app_token(tenant_id=ids.FABRIKAM_TENANT_ID)
    key = graph_auth._shared_key(ids.FABRIKAM_TENANT_ID, graph_auth.GRAPH_SCOPES)
    sealed = cache.get(key)
    assert sealed and token.encode() not in sealed and token[:40].encode() not in sealed
