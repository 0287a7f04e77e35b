"""A periodic sweep skips what an earlier sweep queued or checked within the interval."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings

from portal import sweeps

INTERVAL = timedelta(minutes=60)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_an_item_still_queued_from_the_last_sweep_is_not_queued_again():
    assert sweeps.claim("verify", 7, interval=INTERVAL)
    assert not sweeps.claim("verify", 7, interval=INTERVAL)  # the next sweep, still queued
    assert sweeps.claim("verify", 8, interval=INTERVAL)  # others are not held up


def test_an_item_checked_within_the_interval_is_skipped_then_due_again(settings):
    assert sweeps.claim("verify", 7, interval=timedelta(seconds=2))
    sweeps.started("verify", 7, interval=timedelta(seconds=2))
    assert not sweeps.claim("verify", 7, interval=timedelta(seconds=2))
    time.sleep(2.1)
    assert sweeps.claim("verify", 7, interval=timedelta(seconds=2))


@pytest.mark.django_db
def test_the_tenant_sweep_does_not_queue_a_tenant_twice_within_the_interval(
    microsoft, eager_celery
):
    from cloudsim import ids
    from tenants.models import CheckTrigger, CustomerTenant, TenantStatus
    from tenants.tasks import verify_all_tenants

    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", status=TenantStatus.CONSENTED
    )
    assert verify_all_tenants() == 1  # checked now (eager: on this process)
    assert tenant.checks.filter(trigger=CheckTrigger.PERIODIC).count() == 1
    assert verify_all_tenants() == 0  # beat again before the interval: skipped
    assert tenant.checks.count() == 1


def _consented(tenant_id: str, name: str):
    from tenants.models import CustomerTenant, TenantStatus

    return CustomerTenant.objects.create(
        tenant_id=tenant_id, display_name=name, status=TenantStatus.CONSENTED
    )


@pytest.mark.django_db
def test_a_tenant_checked_within_the_interval_by_verify_now_is_skipped(microsoft, eager_celery):
    """The database decides too: a check a person asked for a minute ago counts, and so does
    one whose mark the cache lost (Redis restarted)."""
    from cloudsim import ids
    from tenants.models import CheckTrigger
    from tenants.tasks import verify_all_tenants, verify_tenant

    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    tenant = _consented(ids.FABRIKAM_TENANT_ID, "Fabrikam")
    verify_tenant(tenant.pk, CheckTrigger.MANUAL)  # "Verify now"
    assert verify_all_tenants() == 0
    cache.clear()  # the marks are gone; the tenant was still checked just now
    assert verify_all_tenants() == 0
    assert list(tenant.checks.values_list("trigger", flat=True)) == [CheckTrigger.MANUAL]


def test_a_sweep_that_is_still_going_does_not_start_a_second_one():
    assert sweeps.begin("verify", interval=INTERVAL)
    assert sweeps.claim("verify", 1, interval=INTERVAL)
    assert sweeps.claim("verify", 2, interval=INTERVAL)
    sweeps.finish("verify")
    assert not sweeps.begin("verify", interval=INTERVAL)  # 1 and 2 have not started
    sweeps.started("verify", 1, interval=INTERVAL)
    assert not sweeps.begin("verify", interval=INTERVAL)
    sweeps.started("verify", 2, interval=INTERVAL)  # the last of its items: the sweep is over
    assert sweeps.begin("verify", interval=INTERVAL)
    sweeps.finish("verify")  # nothing claimed: over at once
    assert sweeps.begin("verify", interval=INTERVAL)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_beat_during_a_long_sweep_queues_nothing_until_its_checks_have_started(
    microsoft, celery_worker
):
    """On a real worker and broker: while the first sweep's checks wait on `periodic`, beat fires
    again and queues nothing, not even a tenant that consented meanwhile; once the checks have
    run, the next sweep takes only that new tenant."""
    from cloudsim import ids
    from portal import queues
    from portal.celery import app
    from tenants.models import ConsentCheck
    from tenants.tasks import verify_all_tenants

    for tenant_id in (ids.FABRIKAM_TENANT_ID, ids.LITWARE_TENANT_ID):
        microsoft.admin("POST", f"/tenants/{tenant_id}/consent")
    _consented(ids.FABRIKAM_TENANT_ID, "Fabrikam")
    assert app.control.cancel_consumer(queues.PERIODIC, reply=True, timeout=5)
    try:
        assert verify_all_tenants() == 1
        late = _consented(ids.LITWARE_TENANT_ID, "Litware")
        assert verify_all_tenants() == 0  # the first sweep's check has not started
    finally:
        app.control.add_consumer(queues.PERIODIC, reply=True, timeout=5)
    deadline = time.monotonic() + 60
    while not ConsentCheck.objects.exists():
        assert time.monotonic() < deadline, "the periodic check never ran"
        time.sleep(0.2)
    assert verify_all_tenants() == 1  # Fabrikam was checked within the interval: only Litware
    while not late.checks.exists():
        assert time.monotonic() < deadline, "the new tenant's check never ran"
        time.sleep(0.2)
    assert ConsentCheck.objects.count() == 2
    assert late.checks.get().trigger == "periodic"


@pytest.mark.django_db
def test_the_resource_sweep_skips_a_resource_queued_running_or_synced_within_the_interval():
    from django.utils import timezone

    from assignments.models import AcsResource, SyncRun, SyncStatus
    from assignments.tasks import sync_all_resources

    def resource(name: str) -> AcsResource:
        return AcsResource.objects.create(
            name=name, endpoint=f"https://{name}.invalid", key_env_var="ACS_KEY_X"
        )

    synced, running, queued, due = (resource(n) for n in ("synced", "running", "queued", "due"))
    SyncRun.objects.create(
        resource=synced, trigger="manual", status=SyncStatus.SUCCEEDED, finished_at=timezone.now()
    )
    SyncRun.objects.create(resource=running, trigger="periodic", status=SyncStatus.RUNNING)
    SyncRun.objects.create(resource=queued, trigger="change", status=SyncStatus.QUEUED)
    old = SyncRun.objects.create(
        resource=due, trigger="periodic", status=SyncStatus.SUCCEEDED, finished_at=timezone.now()
    )
    SyncRun.objects.filter(pk=old.pk).update(finished_at=timezone.now() - INTERVAL)

    with override_settings(SYNC_INTERVAL_MINUTES=60):
        assert sync_all_resources() == 1
    assert (
        SyncRun.objects.filter(trigger="periodic", status=SyncStatus.QUEUED).get().resource == due
    )
    assert SyncRun.objects.count() == 5
