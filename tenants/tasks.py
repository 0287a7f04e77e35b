"""Thin Celery tasks: load by id, call the service."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from portal import metrics, sweeps

logger = logging.getLogger(__name__)


@shared_task(name="tenants.tasks.verify_tenant")
def verify_tenant(
    tenant_pk: int,
    trigger: str = "manual",
    attempt: int = 0,
    requested_by: int | None = None,
    ip: str | None = None,
) -> dict | None:
    """Verify one tenant's consent through Graph; gone tenants are skipped.

    ``attempt``: how many retries of an unknown check came before this one.
    ``requested_by``: the operator who clicked "Verify now" (and ``ip``, where they clicked
    from): the check's audit event is theirs. A user removed meanwhile leaves it to the system.
    """
    from audit.services import Actor
    from tenants.models import CustomerTenant
    from tenants.verification import verify_consent

    if trigger == "periodic":
        sweeps.started("verify", tenant_pk, interval=_verify_interval())
    tenant = CustomerTenant.objects.filter(pk=tenant_pk).first()
    if tenant is None:
        logger.info("Tenant %s is gone; nothing to verify", tenant_pk)
        return None
    actor = None
    if requested_by is not None:
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.filter(pk=requested_by, is_active=True).first()
        actor = Actor.operator(user, ip=ip) if user else None
    check = verify_consent(tenant=tenant, trigger=trigger, actor=actor, attempt=attempt)
    return {"tenant": tenant_pk, "check": check.pk, "ok": check.ok}


@shared_task(name="tenants.tasks.verify_all_tenants")
def verify_all_tenants() -> int:
    """Beat: queue a periodic check of every tenant that has consented, except those still
    queued from an earlier sweep or checked within the interval (by any trigger); nothing while
    the previous sweep's checks have not all started (portal/sweeps.py). Returns how many were
    queued."""
    from django.utils import timezone

    from tenants.lifecycle import CONSENTING
    from tenants.models import CheckTrigger, CustomerTenant

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


def enqueue_verification(
    tenant_pk: int, trigger: str, *, attempt: int = 0, countdown: int = 0
) -> None:
    """Queue a verification (call it on commit); a broker outage is logged, never raised."""
    try:
        args = (tenant_pk, trigger, attempt)
        if countdown:
            verify_tenant.apply_async(args, countdown=countdown)
        else:
            verify_tenant.apply_async(args)
    except Exception:  # the broker being down must not break the customer admin's page
        logger.exception("Could not enqueue verification of tenant %s", tenant_pk)


def _verify_interval() -> timedelta:
    return timedelta(minutes=settings.VERIFY_INTERVAL_MINUTES)
