"""Defects of the tenant's life around onboarding (issue 13), each reproduced end to end."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tenants import tasks
from tenants.models import ConsentCheck, CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("status", [TenantStatus.INVITED, TenantStatus.REVOKED])
def test_verify_now_before_consent_finishes_and_says_not_consented(microsoft, issued, status):
    tenant = issued.link.tenant
    CustomerTenant.objects.filter(pk=tenant.pk).update(status=status)
    result = tasks.verify_tenant(tenant.pk, "manual")  # no consent in cloudsim's Fabrikam
    check = ConsentCheck.objects.get(pk=result["check"])
    assert not check.ok and not check.unknown
    app_token = next(f for f in check.findings if f["check"] == "app_token")
    assert "not consented" in app_token["detail"].lower()
    assert "consent link" in app_token["remedy"]
    tenant.refresh_from_db()
    assert tenant.status == status
    assert AuditEvent.objects.filter(action="consent.check_failed", tenant=tenant).count() == 1
