"""Thin Celery tasks: load by id, call the service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from portal import metrics, sweeps

logger = logging.getLogger(__name__)


@shared_task(name="tenants.tasks.verify_tenant")
def verify_tenant(tenant_pk: int, trigger: str = "manual", attempt: int = 0) -> dict | None:
    """Verify one tenant's consent through Graph; gone tenants are skipped.

    ``attempt``: how many retries of an unknown check came before this one.
    """
    from tenants.models import CustomerTenant
    from tenants.verification import verify_consent

    if trigger == "periodic":
        sweeps.started("verify", tenant_pk, interval=_verify_interval())
    tenant = CustomerTenant.objects.filter(pk=tenant_pk).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to verify", tenant_pk)
        return None
    check = verify_consent(tenant=tenant, trigger=trigger, attempt=attempt)
    return {"tenant": tenant_pk, "check": check.pk, "ok": check.ok}


@shared_task(name="tenants.tasks.verify_all_tenants")
def verify_all_tenants() -> int:
    """Beat: queue a periodic check of every tenant that has consented, except those still
    queued from an earlier sweep or checked within the interval (by any trigger); nothing while
    the previous sweep's checks have not all started (portal/sweeps.py). Returns how many were
    queued."""
    from django.utils import timezone

    from tenants.models import CheckTrigger, CustomerTenant
    from tenants.services import CONSENTING

    interval = _verify_interval()
    if not sweeps.begin("verify", interval=interval):
        return 0
    try:
        checked_since = timezone.now() - sweeps.done_within(interval)
        pks = (
            CustomerTenant.objects.filter(status__in=CONSENTING)
            .exclude(last_verified_at__gte=checked_since)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        consented = CustomerTenant.objects.filter(status__in=CONSENTING).count()
        due = 0
        for pk in list(pks):
            if sweeps.claim("verify", pk, interval=interval):
                verify_tenant.delay(pk, CheckTrigger.PERIODIC)
                due += 1
    finally:
        sweeps.finish("verify")
    metrics.sweep_items("verify", queued=due, skipped=consented - due)
    return due


def _verify_interval() -> timedelta:
    return timedelta(minutes=settings.VERIFY_INTERVAL_MINUTES)
