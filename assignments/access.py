""" "Can this user get an ACS token?": the portal's explanation, and a real exchange in the demo.

The explanation follows what ACS checks at ``/access/entra/:exchangeAccessToken``: the tenant
consented (the portal's *verified*), then an assignment on the resource for the user, for a
group the user is in (Graph ``transitiveMemberOf``) that the tenant assigned to the ACS Clients
enterprise app (Graph ``appRoleAssignedTo``), or for the whole tenant, that lists the operator
app among its client ids, and that the last sync put on the resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import ngettext

from assignments import acs
from assignments.models import AcsResource, Assignment, Desired, PrincipalType, SyncState
from assignments.services import AssignmentError, find_user
from audit.actions import Action
from audit.services import Actor, record_event
from tenants.models import CustomerTenant, TenantStatus

ACS_CLIENTS_VOIP_SCOPE = "https://communication.azure.com/clients/VoIP"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


@dataclass
class AccessReport:
    resource: AcsResource
    tenant: CustomerTenant
    query: str
    user_id: str = ""
    user_name: str = ""
    findings: list[Finding] = field(default_factory=list)
    granting: list[Assignment] = field(default_factory=list)  # matching, operator app allowed
    has_access: bool = False


def _line(report: AccessReport, check: str, ok: bool, detail: str) -> bool:
    report.findings.append(Finding(check, ok, detail))
    return ok


def check_access(
    *, actor: Actor, resource: AcsResource, tenant: CustomerTenant, user: str
) -> AccessReport:
    """Explain whether ``user`` (object id or UPN) of ``tenant`` can get a token on ``resource``."""
    report = AccessReport(resource=resource, tenant=tenant, query=user)
    _line(
        report,
        "Tenant verified",
        tenant.status == TenantStatus.VERIFIED,
        f"{tenant} is {tenant.get_status_display().lower()}"
        + (
            ": admin consent is in place and checked."
            if tenant.status == TenantStatus.VERIFIED
            else "; until its admin consents and the check passes, ACS refuses its users."
        ),
    )
    try:
        principal = find_user(tenant=tenant, id_or_upn=user)
    except AssignmentError as exc:
        _line(report, "User found", False, str(exc))
        _audit(actor, report)
        return report
    report.user_id, report.user_name = principal.object_id, principal.display_name
    _line(report, "User found", True, f"{principal.display_name} ({principal.object_id}).")
    assignments = Assignment.objects.filter(resource=resource, desired=Desired.PRESENT)
    direct = assignments.filter(principal_type=PrincipalType.USER, object_id=principal.object_id)
    _line(
        report,
        "Direct assignment",
        direct.exists(),
        "Assigned to this user." if direct.exists() else "No assignment for this user alone.",
    )
    groups = _group_assignments(report, assignments, tenant, principal.object_id)
    whole = assignments.filter(principal_type=PrincipalType.TENANT, object_id=tenant.tenant_id)
    _line(
        report,
        "Tenant-wide assignment",
        whole.exists(),
        f"Every user of {tenant} is assigned."
        if whole.exists()
        else f"{tenant} as a whole is not assigned.",
    )
    granting = [*direct, *groups, *whole]
    report.granting = [a for a in granting if settings.ENTRA_CLIENT_ID in a.client_ids]
    synced = [a for a in report.granting if a.sync_state == SyncState.SYNCED]
    if granting:
        _line(
            report,
            "Operator app allowed",
            bool(report.granting),
            "The assignment lists the operator app's client id."
            if report.granting
            else f"No matching assignment lists client id {settings.ENTRA_CLIENT_ID}.",
        )
        _line(
            report,
            "Synced to the resource",
            bool(synced),
            f"{synced[0]} is on {resource} (synced {synced[0].last_synced_at:%Y-%m-%d %H:%M})."
            if synced
            else "Not on the resource yet: the sync is pending or failed; see the assignments.",
        )
    report.has_access = tenant.status == TenantStatus.VERIFIED and bool(synced)
    _audit(actor, report)
    return report


def _group_assignments(report, assignments, tenant, user_id) -> list[Assignment]:
    group_rows = list(assignments.filter(principal_type=PrincipalType.GROUP, tenant=tenant))
    if not group_rows:
        _line(report, "Group membership", False, f"No group of {tenant} is assigned.")
        return []
    from tenants import graph

    try:
        member_of = graph.user_group_ids(tenant_id=str(tenant.tenant_id), user_id=user_id)
    except graph.GraphError as exc:
        _line(report, "Group membership", False, f"Graph could not list the groups: {exc}")
        return []
    hits = [a for a in group_rows if str(a.object_id) in member_of]
    _line(
        report,
        "Group membership",
        bool(hits),
        ngettext(
            "Member of the assigned group %(names)s (direct or nested).",
            "Member of the assigned groups %(names)s (direct or nested).",
            len(hits),
        )
        % {"names": _names(hits)}
        if hits
        else "Not a member of any assigned group (checked through Graph, nested groups included).",
    )
    return _assigned_to_acs_clients(report, tenant, hits) if hits else []


def _assigned_to_acs_clients(report, tenant, hits: list[Assignment]) -> list[Assignment]:
    """The groups among ``hits`` that the tenant assigned to the ACS Clients enterprise app.

    ACS lets a group's members in only then (spec: "Group access also needs the group assigned
    to the ACS Clients enterprise app"); Graph ``appRoleAssignedTo`` of that app's service
    principal says who is.
    """
    from tenants import graph
    from tenants.verification import ENTERPRISE_APP_PATH

    check, tid = "Group assigned to ACS Clients", str(tenant.tenant_id)
    try:
        sp = graph.find_service_principal(tenant_id=tid, app_id=settings.ACS_CLIENTS_APP_ID)
        assigned = (
            {a.principal_id for a in graph.list_app_role_assignments(sp_id=sp.id, tenant_id=tid)}
            if sp
            else set()
        )
    except graph.GraphError as exc:
        _line(report, check, False, f"Graph could not list the ACS Clients app's users: {exc}")
        return []
    ok = [a for a in hits if str(a.object_id) in assigned]
    if ok:
        detail = f"{_names(ok)} assigned to the ACS Clients enterprise app in {tenant}."
    elif sp is None:
        detail = f"{tenant} has no ACS Clients service principal, so no group can be assigned."
    else:
        detail = (
            f"{_names(hits)} not assigned to the Azure Communication Services Clients enterprise "
            f"app in {tenant}, so ACS refuses its members. A tenant admin assigns it: "
            f"{ENTERPRISE_APP_PATH} (needs Entra ID P1 or P2)."
        )
    _line(report, check, bool(ok), detail)
    return ok


def _names(assignments: list[Assignment]) -> str:
    return ", ".join(a.display_name or str(a.object_id) for a in assignments)


def _audit(actor: Actor, report: AccessReport) -> None:
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.ACCESS_CHECKED,
            target=report.resource,
            tenant=report.tenant,
            details={
                "user": report.query,
                "user_id": report.user_id,
                "has_access": report.has_access,
                "findings": [[f.check, f.ok] for f in report.findings],
            },
        )


@dataclass(frozen=True)
class ExchangeResult:
    ok: bool
    detail: str
    identity: str = ""
    expires_on: str = ""


def exchange_test(*, resource: AcsResource, tenant: CustomerTenant, upn: str) -> ExchangeResult:
    """Demo only: sign in as the simulated user, then exchange the Entra token on the resource.

    The token itself is never returned or shown.
    """
    if not settings.CLOUDSIM_MODE:
        raise AssignmentError("The token exchange test runs only against cloudsim.")
    from cloudsim.ids import DEMO_PASSWORD
    from tenants import graph

    try:
        user_token = graph.acquire_user_token_by_password(
            tenant_id=str(tenant.tenant_id),
            username=upn,
            password=DEMO_PASSWORD,
            scopes=[ACS_CLIENTS_VOIP_SCOPE],
        )
    except graph.GraphError as exc:
        return ExchangeResult(False, f"Entra sign-in of {upn} failed: {exc}")
    try:
        with acs.client_for(resource, max_attempts=3) as client:
            data = client.exchange_user_token(user_token)
    except acs.AcsError as exc:
        return ExchangeResult(False, f"{resource} refused the exchange: {exc}")
    return ExchangeResult(
        True,
        f"{resource} issued an ACS token for {upn}.",
        identity=str((data.get("identity") or {}).get("id", "")),
        expires_on=str((data.get("accessToken") or {}).get("expiresOn", "")),
    )
