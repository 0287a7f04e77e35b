"""A periodic sweep skips what an earlier sweep queued or checked within the interval."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

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
    import time

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
