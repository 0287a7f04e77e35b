"""Consent lost, by cause (issue 13): cloudsim causes each loss through its admin API, and the
next periodic check names it with its own finding, remedy, audit action and status."""

from __future__ import annotations

import html

import pytest

from audit.models import AuditEvent
from cloudsim import ids
from notifications.kinds import KINDS, kinds_of
from tenants import graph, tasks
from tenants.actions import groups
from tenants.models import CustomerTenant, TenantStatus
from tenants.verification import CAUSES
from tests.support.microsoft import consent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FAB = f"/tenants/{ids.FABRIKAM_TENANT_ID}"
SALES = ids.FABRIKAM_SALES_GROUP

# cause: (admin calls that cause it, the failing check, status after, audit action, remedy part)
CASES = {
    "operator_sp_deleted": (
        [("DELETE", f"{FAB}/consent", None)],
        "app_token",
        TenantStatus.REVOKED,
        "consent.revoked",
        "consent link",
    ),
    "operator_sp_disabled": (
        [("PATCH", f"{FAB}/consent", {"accountEnabled": False})],
        "app_token",
        TenantStatus.REVOKED,
        "consent.revoked",
        "Enabled for users to sign in: Yes",
    ),
    "credential_expired": (
        [("POST", "/apps/secret", {"days": -1})],
        "app_token",
        TenantStatus.ATTENTION,
        "operator.credential_expired",
        "Certificates & secrets > New client secret",
    ),
    "acs_clients_sp_deleted": (
        [("DELETE", f"{FAB}/acs-clients-sp", None)],
        "acs_clients_sp",
        TenantStatus.ATTENTION,
        "consent.acs_clients_lost",
        "az ad sp create",
    ),
    "acs_grant_removed": (
        [("DELETE", f"{FAB}/acs-clients-grant", None)],
        "delegated_grant",
        TenantStatus.ATTENTION,
        "consent.grant_lost",
        "consent link",
    ),
    "acs_grant_incomplete": (
        [("PATCH", f"{FAB}/acs-clients-grant", {"scope": "VoIP"})],
        "delegated_grant",
        TenantStatus.ATTENTION,
        "consent.grant_lost",
        "VoIP, VoIP.Join",
    ),
    "group_deleted": (
        [("DELETE", f"{FAB}/groups/{SALES}", None)],
        f"group:{SALES}",
        TenantStatus.ATTENTION,
        "consent.group_lost",
        "pick the group that replaced it",
    ),
    "group_unassigned": (
        [("DELETE", f"{FAB}/acs-clients-sp/assignments/{SALES}", None)],
        f"group:{SALES}",
        TenantStatus.ATTENTION,
        "consent.group_lost",
        "Users and groups > Add user/group",
    ),
    "licence_lapsed": (
        [("PATCH", f"{FAB}/plan", {"plan": "P1", "capabilityStatus": "Suspended"})],
        "licence",
        TenantStatus.ATTENTION,
        "consent.licence_lost",
        "renews Microsoft Entra ID P1 or P2",
    ),
}


@pytest.fixture
def verified(microsoft, client, actor, issued) -> CustomerTenant:
    """Fabrikam consented (deep), with the Sales group picked and assigned to ACS Clients."""
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    tenant = CustomerTenant.objects.get(pk=issued.link.tenant_id)
    groups.add_customer_group(actor=actor, tenant=tenant, object_id=SALES)
    assert tasks.verify_tenant(tenant.pk, "manual")["ok"]
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.VERIFIED
    return tenant


def _next_periodic_check(tenant):
    graph.reset_token_caches()  # a new worker: nothing cached from before the change
    tasks.verify_tenant(tenant.pk, "periodic")
    tenant.refresh_from_db()
    return tenant.checks.first(), AuditEvent.objects.filter(tenant=tenant).order_by("-id").first()


def test_every_cause_has_a_case():
    assert set(CASES) == set(CAUSES)


@pytest.mark.parametrize("cause", list(CASES))
def test_each_lost_consent_is_named_by_its_cause(microsoft, operator_client, verified, cause):
    calls, check_key, status, action, remedy = CASES[cause]
    for method, path, body in calls:
        microsoft.admin(method, path, body)
    check, event = _next_periodic_check(verified)
    assert verified.status == status
    failing = [f for f in check.findings if not f["ok"]]
    found = next(f for f in failing if f["check"] == check_key)
    assert found["cause"] == cause and remedy in found["remedy"], found
    # One event, with the cause's own action, its label and remedy.
    assert event.action == action
    assert event.details["cause"] == cause
    assert event.details["cause_label"] == CAUSES[cause].label
    assert event.details["status"]["from"] == TenantStatus.VERIFIED
    assert event.details["status"]["to"] == status
    # "Consent lost" notifications fire with the cause as their text.
    kinds = kinds_of(event.action, event.details)
    assert "consent.lost" in [k.key for k in kinds]
    assert CAUSES[cause].label in KINDS["consent.lost"].cause(event.details)
    # The tenant page shows the cause, the finding and the remedy.
    page = operator_client.get(f"/tenants/{verified.pk}/").content.decode()
    callout = html.unescape(page.split(f'data-cause="{cause}"', 1)[1].split("</p>", 1)[0])
    assert ("Revoked:" if status == TenantStatus.REVOKED else "Consent lost:") in callout
    assert CAUSES[cause].label in callout and remedy in callout


def test_a_cause_that_persists_is_not_reported_as_lost_again(microsoft, verified):
    microsoft.admin("DELETE", f"{FAB}/acs-clients-grant")
    _, first = _next_periodic_check(verified)
    _, second = _next_periodic_check(verified)
    assert (first.action, second.action) == ("consent.grant_lost", "consent.check_failed")
    assert second.details["causes"] == ["acs_grant_removed"]
    assert "consent.lost" not in [k.key for k in kinds_of(second.action, second.details)]
    # A second cause on top of the first is a new loss, reported by its own action.
    microsoft.admin("DELETE", f"{FAB}/groups/{SALES}")
    _, third = _next_periodic_check(verified)
    assert third.action == "consent.group_lost"
    assert third.details["causes"] == ["acs_grant_removed", "group_deleted"]


def test_a_free_tenant_with_groups_is_told_it_needs_p1(microsoft, verified):
    microsoft.admin("PATCH", f"{FAB}/plan", {"plan": "Free"})
    check, event = _next_periodic_check(verified)
    licence = next(f for f in check.findings if f["check"] == "licence")
    assert not licence["ok"] and "no Entra ID P1 or P2 subscription" in licence["detail"]
    assert event.action == "consent.licence_lost"


def test_a_restored_grant_passes_again(microsoft, verified):
    microsoft.admin("PATCH", f"{FAB}/acs-clients-grant", {"scope": "VoIP"})
    _next_periodic_check(verified)
    assert verified.status == TenantStatus.ATTENTION
    microsoft.admin("PATCH", f"{FAB}/acs-clients-grant", {"scope": "VoIP VoIP.Join"})
    check, event = _next_periodic_check(verified)
    assert check.ok and verified.status == TenantStatus.VERIFIED
    assert event.action == "consent.verified"
