"""Offboarding: the sync removes every assignment remotely, then offboarded, then deleted."""

from __future__ import annotations

import pytest

from assignments import services as acs_services
from assignments.models import AcsResource, Assignment
from audit.models import AuditEvent
from cloudsim import ids
from tenants import errors, lifecycle
from tenants.actions import consent, registration
from tenants.models import ConsentLink, CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


def _remote(cloudsim) -> set[str]:
    found = cloudsim.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    return {a["objectId"] for a in found}


def _sync(resource: AcsResource) -> None:
    from assignments.models import SyncRun
    from assignments.sync import reconcile_resource

    reconcile_resource(run_id=SyncRun.objects.create(resource=resource, trigger="manual").pk)


@pytest.fixture
def resource(microsoft) -> AcsResource:
    return AcsResource.objects.create(
        name=ids.CONTOSO_ACS,
        endpoint=microsoft.acs_resources[ids.CONTOSO_ACS]["endpoint"],
        key_env_var="ACS_DEMO_ACCESS_KEY",
    )


@pytest.mark.django_db(transaction=True)  # the sync runs as a worker would (its own commits)
def test_offboarding_removes_every_assignment_remotely_then_the_tenant(
    operator_client, actor, issued, resource, microsoft, monkeypatch
):
    from assignments.tasks import run_sync

    monkeypatch.setattr(run_sync, "apply_async", lambda **kwargs: None)  # this test syncs itself
    tenant = issued.link.tenant
    CustomerTenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.VERIFIED)
    tenant.refresh_from_db()
    acs_services.add_assignment(
        actor=actor, resource=resource, tenant=tenant, principal_type="tenant"
    )
    _sync(resource)
    assert ids.FABRIKAM_TENANT_ID in _remote(microsoft)

    started = operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "start"})
    assert started.status_code == 302
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.OFFBOARDING
    assert ConsentLink.objects.get(pk=issued.link.pk).revoked_at  # its links are withdrawn
    event = AuditEvent.objects.get(action="tenant.offboarding_started")
    assert event.details["assignments_removed"] == 1 and event.details["links_revoked"] == 1
    page = operator_client.get(f"/tenants/{tenant.pk}/offboard/").content.decode()
    assert 'id="offboarding-left"' in page and "az ad sp delete --id" in page
    early = operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "finish"}, follow=True)
    assert "still being removed" in early.content.decode()

    _sync(resource)  # the normal sync removes it from the resource, then here
    assert ids.FABRIKAM_TENANT_ID not in _remote(microsoft)
    assert not Assignment.objects.filter(tenant=tenant).exists()
    operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "finish"})
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.OFFBOARDED

    operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "delete"})
    assert not CustomerTenant.objects.filter(pk=tenant.pk).exists()
    history = AuditEvent.objects.filter(action__startswith="tenant.").values_list(
        "action", flat=True
    )
    assert {"tenant.created", "tenant.offboarding_started", "tenant.offboarded"} <= set(history)
    assert "tenant.deleted" in set(history)


def test_a_tenant_is_deleted_only_after_offboarding(actor, fabrikam):
    with pytest.raises(errors.TenantError, match="offboard it first"):
        registration.delete_tenant(actor=actor, tenant=fabrikam)
    assert CustomerTenant.objects.filter(pk=fabrikam.pk).exists()


def test_a_leaving_tenant_takes_no_link_answer_or_verdict(actor, issued):
    tenant = registration.start_offboarding(actor=actor, tenant=issued.link.tenant)
    with pytest.raises(errors.TenantError):
        consent.issue_consent_link(actor=actor, tenant=tenant)
    for event in (lifecycle.Event.CHECK_PASSED, lifecycle.Event.CHECK_REVOKED):
        assert lifecycle.target(TenantStatus.OFFBOARDING, event) == TenantStatus.OFFBOARDING
    with pytest.raises(errors.TenantError):
        registration.start_offboarding(actor=actor, tenant=tenant)


def test_a_leaving_tenant_gets_no_new_assignment_even_with_the_override(actor, fabrikam):
    from assignments.models import AcsResource

    resource = AcsResource.objects.create(
        name="offline-acs", endpoint="https://offline.invalid", key_env_var="ACS_KEY_OFFLINE"
    )
    tenant = registration.start_offboarding(actor=actor, tenant=fabrikam)
    with pytest.raises(acs_services.AssignmentError, match="offboarding"):
        acs_services.add_assignment(
            actor=actor, resource=resource, tenant=tenant, principal_type="tenant", override=True
        )
    assert not Assignment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_offboarding_page_follows_its_progress_on_its_own(
    operator_client, actor, issued, resource, microsoft, monkeypatch
):
    from assignments.tasks import run_sync

    monkeypatch.setattr(run_sync, "apply_async", lambda **kwargs: None)
    tenant = issued.link.tenant
    CustomerTenant.objects.filter(pk=tenant.pk).update(status=TenantStatus.VERIFIED)
    tenant.refresh_from_db()
    acs_services.add_assignment(
        actor=actor, resource=resource, tenant=tenant, principal_type="tenant"
    )
    operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "start"})
    page = operator_client.get(f"/tenants/{tenant.pk}/offboard/").content.decode()
    poll = f"/tenants/{tenant.pk}/offboard/progress.json?status=offboarding&amp;left=1"
    assert f'data-poll-url="{poll}"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    url = poll.replace("&amp;", "&")
    assert operator_client.get(url).json() == {
        "fields": {"status": "Offboarding", "left": 1},
        "status": "offboarding",
        "left": 1,
        "done": False,
        "reload": False,
    }
    _sync(resource)  # the assignment goes: the open page reloads into "none left"
    assert operator_client.get(url).json()["reload"] is True
    operator_client.post(f"/tenants/{tenant.pk}/offboard/", {"step": "finish"})
    done = operator_client.get(f"/tenants/{tenant.pk}/offboard/").content.decode()
    assert "data-poll-url" not in done and "http-equiv" not in done  # nothing left to follow
