"""'Verify now' is the clicking operator's: the check's audit event names them (issue 17)."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tenants import tasks

pytestmark = pytest.mark.django_db


def test_verify_now_through_the_task_is_attributed_to_the_operator(
    microsoft, operator_client, operator_user, issued, eager_celery
):
    tenant = issued.link.tenant
    response = operator_client.post(
        f"/tenants/{tenant.pk}/verify/", follow=True, REMOTE_ADDR="203.0.113.7"
    )
    assert "Verification queued" in response.content.decode()
    event = AuditEvent.objects.filter(tenant=tenant, action="consent.check_failed").get()
    assert event.actor_type == "operator"
    assert (event.actor_id, event.actor_label) == (operator_user.pk, operator_user.email)
    assert event.details["trigger"] == "manual" and event.ip == "203.0.113.7"


def test_a_periodic_check_stays_the_systems(microsoft, issued):
    tasks.verify_tenant(issued.link.tenant_id, "periodic")
    event = AuditEvent.objects.filter(action="consent.check_failed").get()
    assert (event.actor_type, event.actor_label) == ("system", "verification (periodic)")


def test_a_requester_removed_meanwhile_leaves_the_check_to_the_system(
    microsoft, issued, operator_user
):
    operator_user.is_active = False
    operator_user.save()
    tasks.verify_tenant(issued.link.tenant_id, "manual", 0, operator_user.pk, "203.0.113.7")
    event = AuditEvent.objects.filter(action="consent.check_failed").get()
    assert event.actor_type == "system"
