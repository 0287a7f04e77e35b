"""The issue's "done when": an operator subscribed to "consent lost" and "sync failed" gets an
email, and a webhook receiver a signed webhook, when cloudsim revokes Fabrikam's consent and
when a sync partly fails, all through the real worker, SMTP server and HTTP receiver."""

from __future__ import annotations

import time

import pytest

from assignments import services as acs_services
from assignments.models import SyncRun
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from notifications import services
from notifications.models import Delivery, DeliveryStatus
from tenants.models import CustomerTenant, TenantStatus
from tenants.tasks import verify_all_tenants
from tests.factories import AssignmentFactory
from tests.support.microsoft import consent, invite, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
OPERATOR = "omar@contoso.example"


@pytest.fixture
def subscribed(operator_user, admin_user, receiver):
    kinds = ["consent.lost", "sync.failed"]
    services.save_preferences(actor=Actor.operator(operator_user), user=operator_user, kinds=kinds)
    _, secret = services.create_endpoint(
        actor=Actor.operator(admin_user), name="SOC", url=receiver.url, kinds=kinds
    )
    receiver.secrets = [secret]
    return receiver


def _wait_for_webhooks(receiver, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(receiver.verified()) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return receiver.verified()


def test_a_revoked_consent_sends_a_signed_webhook_and_an_email(
    celery_worker, microsoft, subscribed, inbox, client, operator_user
):
    tenant, issued = invite(Actor.operator(operator_user), ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    wait_for_status(tenant, TenantStatus.VERIFIED)
    assert subscribed.received == []  # granting is not what they asked for

    microsoft.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    # An interval later (a sweep skips a tenant checked within it):
    type(tenant).objects.filter(pk=tenant.pk).update(last_verified_at=None)
    assert verify_all_tenants.delay().get(timeout=60) == 1  # the beat job, in the worker

    [payload] = _wait_for_webhooks(subscribed, 1)
    assert payload["type"] == "consent.lost.v1"
    assert payload["data"]["tenant"]["name"] == "Fabrikam"
    # The cause the check named (tenants/verification.py CAUSES), with its remedy.
    assert payload["data"]["cause"].startswith(
        "The operator app's enterprise application was deleted in the tenant. Remedy: "
    )
    [mail] = inbox.wait_for(OPERATOR)
    assert "Consent lost: Fabrikam" in mail["Subject"]
    text, _ = inbox.bodies(mail)
    assert f"/tenants/{tenant.pk}/" in text
    assert (
        CustomerTenant.objects.get(pk=tenant.pk).status == TenantStatus.REVOKED
    )  # the operator app lost its service principal
    deadline = time.monotonic() + 30
    while AuditEvent.objects.filter(action=Action.NOTIFY_DELIVERED).count() < 2:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_a_partly_failing_sync_sends_a_signed_webhook_and_an_email(
    celery_worker, verified_tenant_with_acs, subscribed, inbox, operator_user
):
    tenant, resource = verified_tenant_with_acs.tenant, verified_tenant_with_acs.resource
    # A row ACS refuses (a "tenant" entry whose objectId is not the tenant id: 400), written
    # past the service's checks as an old import could have; the other entry goes through.
    AssignmentFactory(
        resource=resource, tenant=tenant, principal_type="tenant", client_ids=[ids.OPERATOR_APP_ID]
    )
    acs_services.add_assignment(
        actor=Actor.operator(operator_user),
        resource=resource,
        tenant=tenant,
        principal_type="user",
        object_id=ids.FABRIKAM_ALEX,
        client_ids=[ids.OPERATOR_APP_ID],
    )
    [payload] = _wait_for_webhooks(subscribed, 1, timeout=90)
    assert payload["type"] == "sync.failed.v1"
    run = SyncRun.objects.latest("pk")
    assert run.status == "partial" and run.failed == 1 and run.created == 1
    assert payload["data"]["cause"] == "Sync partial: 1 failed, 1 created, 0 deleted."
    assert payload["data"]["url"].endswith(f"/syncs/{run.pk}/")
    [mail] = inbox.wait_for(OPERATOR)
    assert "Sync failed or partial" in mail["Subject"]
