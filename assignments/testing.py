"""A sync's arrangement against cloudsim, shared by the integration tests and bench/sync.py.

The demo resource (cloudsim's ``contoso-acs``) emptied and registered, N user assignments of a
verified Fabrikam, what ACS should then hold, and a wait for a run to finish. ``cloudsim`` is
anything with ``admin(method, path, body)`` and ``acs_resources`` (``cloudsim.testing``'s
in-process server, or the benchmark's cloudsim process).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

from assignments.models import AcsResource, Assignment, SyncRun, SyncStatus
from cloudsim import ids
from tenants.models import CustomerTenant, TenantStatus

FINISHED = (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED)


class CloudSimAdmin(Protocol):
    acs_resources: dict[str, dict[str, str]]

    def admin(self, method: str, path: str, body: Any = None) -> Any: ...


def empty_resource(
    cloudsim: CloudSimAdmin,
    name: str = ids.CONTOSO_ACS,
    *,
    key_env_var: str = "ACS_DEMO_ACCESS_KEY",
) -> AcsResource:
    """cloudsim's ACS resource ``name`` with no assignments, registered in the portal."""
    cloudsim.admin("DELETE", f"/acs/{name}/assignments")
    return AcsResource.objects.create(
        name=name, endpoint=cloudsim.acs_resources[name]["endpoint"], key_env_var=key_env_var
    )


def fabrikam() -> CustomerTenant:
    tenant, _ = CustomerTenant.objects.get_or_create(
        tenant_id=ids.FABRIKAM_TENANT_ID,
        defaults={"display_name": "Fabrikam", "status": TenantStatus.VERIFIED},
    )
    return tenant


def add_users(resource: AcsResource, count: int, *, batch: int = 5000) -> list[str]:
    """``count`` user assignments of Fabrikam for the operator app; their object ids."""
    tenant, made = fabrikam(), list[str]()
    for start in range(0, count, batch):
        rows = Assignment.objects.bulk_create(
            Assignment(
                resource=resource,
                tenant=tenant,
                principal_type="user",
                object_id=uuid.uuid4(),
                client_ids=[ids.OPERATOR_APP_ID],
            )
            for _ in range(min(batch, count - start))
        )
        made.extend(str(a.object_id) for a in rows)
    return made


def entries_of(object_ids: list[str]) -> dict[str, dict]:
    """The entries ACS holds for ``add_users``' assignments once synced, by object id."""
    return {
        oid: {
            "objectId": oid,
            "tenantId": ids.FABRIKAM_TENANT_ID,
            "principalType": "user",
            "clientIds": [ids.OPERATOR_APP_ID],
        }
        for oid in object_ids
    }


def remote_entries(cloudsim: CloudSimAdmin, name: str = ids.CONTOSO_ACS) -> list[dict]:
    return cloudsim.admin("GET", f"/acs/{name}/assignments")["value"]


def wait_until(check, timeout: float, what: str, *, every: float = 0.2):
    """``check()``'s first truthy value within ``timeout`` s; else an AssertionError that shows
    the runs and the locks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    runs = list(
        SyncRun.objects.values(
            "pk", "status", "trigger", "enqueued_at", "done", "planned", "message"
        )
    )
    locks = list(AcsResource.objects.values("sync_locked_until", "sync_locked_by"))
    raise AssertionError(f"not {what} after {timeout} s; runs {runs}, lock {locks}")


def wait_finished(run: SyncRun, timeout: float = 90) -> SyncRun:
    """``run`` once it finished (reloaded)."""
    return wait_until(
        lambda: SyncRun.objects.filter(pk=run.pk, status__in=FINISHED).first(),
        timeout,
        f"run #{run.pk} finished",
    )
