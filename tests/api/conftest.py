"""API clients holding tokens of each role, and the rows the API acts on."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api import tokens
from api.models import Scope
from audit.services import Actor
from portal.models import Role

# The tenants and resources the assignment tests use (Fabrikam verified with its Sales group,
# a resource nobody answers for, cloudsim's contoso-acs).
from tests.assignments.conftest import acs_resource, fabrikam, offline_resource  # noqa: F401
from tests.assignments.test_access_check import sales_assigned  # noqa: F401


def token_for(user, scope: str = Scope.WRITE) -> str:
    """A token of ``user`` (issued by the user, or by an admin for a read-only role)."""
    from portal.models import User

    issuer = user
    if user.role == Role.AUDITOR:
        issuer = User.objects.filter(role=Role.ADMIN).first() or User.objects.create_user(
            email="issuer@contoso.example", role=Role.ADMIN
        )
    if scope not in tokens.allowed_scopes(user):
        scope = Scope.READ
    return tokens.issue_token(
        actor=Actor.operator(issuer), owner=user, name=f"{user.role} automation", scope=scope
    ).secret


def client_with(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(admin_user) -> APIClient:
    """An admin's write token."""
    return client_with(token_for(admin_user))


@pytest.fixture
def operator_api(operator_user) -> APIClient:
    return client_with(token_for(operator_user))


@pytest.fixture
def auditor_api(auditor_user) -> APIClient:
    return client_with(token_for(auditor_user, Scope.READ))


@pytest.fixture(autouse=True)
def queued_tasks(monkeypatch) -> list[dict]:
    """Sync runs and verifications sent to Celery, kept here instead."""
    from assignments.tasks import run_sync
    from tenants.tasks import verify_tenant

    sent: list[dict] = []
    monkeypatch.setattr(run_sync, "apply_async", lambda *a, **kwargs: sent.append(kwargs))
    monkeypatch.setattr(verify_tenant, "delay", lambda *a, **kw: sent.append({"verify": a}))
    return sent


@pytest.fixture(autouse=True)
def operator_app(settings):
    """The operator app's client id (assignments default to it), whether or not an earlier
    test pointed the settings at cloudsim."""
    if not settings.ENTRA_CLIENT_ID:
        settings.ENTRA_CLIENT_ID = "0a0a0a0a-0000-4000-8000-00000000c1d0"
