"""Customer tenants as the tenants app leaves them, and the demo ACS resource on cloudsim."""

from __future__ import annotations

import pytest

from assignments.models import AcsResource, SyncRun
from cloudsim import ids
from tenants.models import CustomerTenant, TenantStatus
from tests.factories import AcsResourceFactory, CustomerTenantFactory, SyncRunFactory
from tests.support.arrangements import contoso_acs_at, verified_fabrikam


@pytest.fixture
def fabrikam(db) -> CustomerTenant:
    """Fabrikam verified, with its Sales group (no cloudsim: see ``verified_tenant_with_acs``)."""
    return verified_fabrikam()


@pytest.fixture
def litware(db) -> CustomerTenant:
    return CustomerTenantFactory(
        tenant_id=ids.LITWARE_TENANT_ID, display_name="Litware", status=TenantStatus.INVITED
    )


@pytest.fixture
def offline_resource(db) -> AcsResource:
    """A resource nobody answers for: for tests that never reach the network."""
    return AcsResourceFactory(
        name="offline-acs", endpoint="https://offline.invalid", key_env_var="ACS_KEY_OFFLINE"
    )


@pytest.fixture
def acs_resource(db, microsoft_env, cloudsim_clean) -> AcsResource:
    """cloudsim's contoso-acs, its key read from ACS_DEMO_ACCESS_KEY (set by microsoft_env)."""
    return contoso_acs_at(cloudsim_clean)


def remote_assignments(cloudsim, name: str = ids.CONTOSO_ACS) -> dict[str, dict]:
    return {a["objectId"]: a for a in cloudsim.admin("GET", f"/acs/{name}/assignments")["value"]}


def sync_now(resource: AcsResource) -> SyncRun:
    """Run one sync in this process (the Celery path is covered by tests/integration)."""
    from assignments.sync import reconcile_resource

    run = SyncRunFactory(resource=resource)
    reconcile_resource(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture(autouse=True)
def queued_tasks(monkeypatch) -> list[dict]:
    """Sync runs sent to Celery, kept here: unit tests run syncs themselves (``sync_now``)."""
    from assignments.tasks import run_sync

    sent: list[dict] = []
    monkeypatch.setattr(run_sync, "apply_async", lambda **kwargs: sent.append(kwargs))
    return sent
