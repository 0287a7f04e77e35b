"""Evidence from Graph: is a tenant's consent in place, is the home tenant ready (preflight).

A finding is ``{"check", "ok", "detail", "remedy"}``. Graph is read first, outside any
transaction; the result is then stored with its status move and audit event in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import graph, lifecycle
from tenants.aadsts import ACS_CLIENTS_SP_COMMAND
from tenants.actions.consent import callback_url
from tenants.lifecycle import Event
from tenants.models import (
    CheckTrigger,
    ConsentCheck,
    ConsentOutcome,
    CustomerGroup,
    CustomerTenant,
    TenantStatus,
    VerificationLevel,
)
from tenants.tasks import enqueue_verification

logger = logging.getLogger(__name__)
REQUIRED_SCOPES = ("VoIP",)
EXPECTED_SCOPES = ("VoIP", "VoIP.Join")
ENTERPRISE_APP_PATH = (
    "Entra admin center > Enterprise applications > Azure Communication Services Clients > "
    "Users and groups > Add user/group"
)


# A check that Microsoft could not answer is retried after these delays (seconds), then left
# to the periodic sweep: soon enough that a throttled minute does not last an hour.
RETRY_DELAYS = (60, 300, 900)


def finding(check: str, ok: bool, detail: str, remedy: str = "", *, unknown: bool = False) -> dict:
    """One check's result. ``unknown``: Microsoft gave no answer (no verdict either way)."""
    found = {"check": check, "ok": ok, "detail": detail, "remedy": "" if ok else remedy}
    if unknown:
        found["unknown"] = True
    return found


def _graph_failure(check: str, error: graph.GraphError, remedy: str = "") -> dict:
    """A finding for a failed Graph call: transient errors are unknown, not failures."""
    if error.permanent:
        return finding(check, False, f"Graph could not answer: {error}", remedy)
    return finding(
        check,
        False,
        f"Microsoft could not be reached: {error}",
        "Microsoft was unavailable; the next check retries soon. " + remedy,
        unknown=True,
    )


# --- causes of lost consent -------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """Why a tenant that had consented lost it: shown on the tenant page, audited with its own
    action, and sent as the cause of a "consent lost" notification."""

    key: str
    label: str
    action: str
    revokes: bool = False  # the operator app's own access is gone: the tenant is revoked


CAUSES: dict[str, Cause] = {
    c.key: c
    for c in (
        Cause(
            "operator_sp_deleted",
            "The operator app's enterprise application was deleted in the tenant",
            Action.CONSENT_REVOKED,
            revokes=True,
        ),
        Cause(
            "operator_sp_disabled",
            "The operator app's enterprise application was disabled in the tenant",
            Action.CONSENT_REVOKED,
            revokes=True,
        ),
        Cause(
            "credential_expired",
            "The operator app's own client secret has expired (home tenant)",
            Action.CREDENTIAL_EXPIRED,
        ),
        Cause(
            "acs_clients_sp_deleted",
            "Azure Communication Services Clients was removed from the tenant",
            Action.CONSENT_ACS_CLIENTS_LOST,
        ),
        Cause(
            "acs_grant_removed",
            "The admin consent to Azure Communication Services Clients was removed",
            Action.CONSENT_GRANT_LOST,
        ),
        Cause(
            "acs_grant_incomplete",
            "The admin consent to Azure Communication Services Clients lost a permission",
            Action.CONSENT_GRANT_LOST,
        ),
        Cause(
            "group_deleted",
            "A group the portal assigns was deleted in the tenant",
            Action.CONSENT_GROUP_LOST,
        ),
        Cause(
            "group_unassigned",
            "A group the portal assigns is no longer assigned to ACS Clients",
            Action.CONSENT_GROUP_LOST,
        ),
        Cause(
            "licence_lapsed",
            "The tenant's licence no longer allows group assignment (Entra ID P1 or P2)",
            Action.CONSENT_LICENCE_LOST,
        ),
    )
}


# --- the checks: one function each, listed in one table per place --------------------------


@dataclass
class Probe:
    """What one run of checks has learnt so far; a check may read what an earlier one found."""

    tenant: CustomerTenant | None
    tid: str
    facts: dict = field(default_factory=dict)
    operator_sp: graph.ServicePrincipal | None = None
    acs_sp: graph.ServicePrincipal | None = None
    app: graph.Application | None = None
    groups: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One check: its key (a finding's ``check``), label and usual remedy, and its function.

    ``needs``: Probe attributes an earlier check must have filled (else this one is skipped).
    ``stops``: a failure of this check makes the rest of its table meaningless.
    """

    key: str
    label: str
    remedy: str
    run: Callable[[Check, Probe], list[dict]]
    needs: tuple[str, ...] = ()
    stops: bool = False

    def finding(
        self, ok: bool, detail: str, remedy: str | None = None, *, cause: str = "", key: str = ""
    ) -> dict:
        found = finding(key or self.key, ok, detail, self.remedy if remedy is None else remedy)
        if ok and remedy:  # a passing check with advice (a warning) keeps its remedy
            found["remedy"] = remedy
        if cause and not ok:
            found["cause"] = cause
        return found


CheckFn = Callable[[Check, Probe], list[dict]]
STANDARD_CHECKS: list[Check] = []  # a standard consent: no Graph permission in the tenant
DEEP_CHECKS: list[Check] = []  # a deep consent: Graph reads of the tenant
HOME_CHECKS: list[Check] = []  # the home preflight: the operator app's registration


def check(
    table: list[Check],
    key: str,
    label: str,
    remedy: str = "",
    *,
    needs: tuple[str, ...] = (),
    stops: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as a check of ``table`` (in definition order). It is
    called with its own Check (for ``finding``) and the run's Probe."""

    def register(run: CheckFn) -> CheckFn:
        table.append(Check(key, label, remedy, run, needs, stops))
        return run

    return register


def labels() -> dict[str, str]:
    """Every check's label by key (pages show labels, findings store keys)."""
    out: dict[str, str] = {"graph": "Microsoft Graph", "admin_consent": "Admin consent"}
    for c in (*STANDARD_CHECKS, *DEEP_CHECKS, *HOME_CHECKS):
        out.setdefault(c.key, c.label)
    return out


def label_of(key: str) -> str:
    if key.startswith("group:"):
        key = "group"
    return labels().get(key, key)


def run_checks(table: list[Check], probe: Probe) -> list[dict]:
    """Run a table's checks in order. A Graph failure is that check's finding (transient ones
    are unknown, not failures) and ends the run when the check ``stops`` it."""
    findings: list[dict] = []
    for c in table:
        if any(getattr(probe, need) in (None, {}) for need in c.needs):
            continue
        try:
            found = c.run(c, probe)
        except graph.GraphError as error:
            findings.append(_graph_failure(c.key, error, c.remedy))
            if c.stops:
                break
            continue
        findings.extend(found)
        if c.stops and any(not f["ok"] for f in found):
            break
    return findings


# Entra's answers to an app-only token request when the operator app has no usable service
# principal in the tenant: never consented, consent removed (AADSTS7000229, AADSTS700016) or
# the service principal disabled (AADSTS7000112); the operator app's own secret expired
# (AADSTS7000222). docs/microsoft/tenant-lifecycle.md
NO_SERVICE_PRINCIPAL = {"AADSTS7000229", "AADSTS700016"}
SERVICE_PRINCIPAL_DISABLED = {"AADSTS7000112"}
SECRET_EXPIRED = {"AADSTS7000222"}
CONSENT_REMEDY = "Send the tenant's admin a consent link and ask them to accept it."
SECRET_REMEDY = (
    "In the home tenant: Entra admin center > App registrations > the operator app > "
    "Certificates & secrets > New client secret; set ENTRA_CLIENT_SECRET to its value and "
    "restart the portal and its workers."
)
DISABLED_REMEDY = (
    "A tenant admin enables it: Entra admin center > Enterprise applications > the operator "
    "app > Properties > Enabled for users to sign in: Yes."
)


def _token_refused(c: Check, error: graph.GraphError) -> dict:
    """A refused token: no service principal, a disabled one, our expired secret, or else."""
    if error.code in NO_SERVICE_PRINCIPAL:
        found = c.finding(
            False,
            "Not consented (yet, or any more): Entra has no service principal of the operator "
            f"app in this tenant ({error.code}).",
            CONSENT_REMEDY,
            cause="operator_sp_deleted",
        )
    elif error.code in SERVICE_PRINCIPAL_DISABLED:
        found = c.finding(
            False,
            "Consent is in place but the operator app's service principal is disabled in this "
            f"tenant ({error.code}).",
            DISABLED_REMEDY,
            cause="operator_sp_disabled",
        )
    elif error.code in SECRET_EXPIRED:
        found = c.finding(
            False,
            "Entra refuses the operator app's client secret: it has expired "
            f"({error.code}), so no tenant can be checked or synced.",
            SECRET_REMEDY,
            cause="credential_expired",
        )
    else:
        return _graph_failure(c.key, error, c.remedy)
    return found


def _register_token_check(
    table: list[Check], get_token: Callable[[str], object], ok_detail: str, remedy: str
) -> None:
    """The first check of every table: can the operator app get a token for the tenant?"""

    def run(c: Check, probe: Probe) -> list[dict]:
        try:
            get_token(probe.tid)
        except graph.GraphError as error:
            return [_token_refused(c, error)]
        return [c.finding(True, ok_detail)]

    check(table, "app_token", "Operator app can sign in", remedy, stops=True)(run)


TENANT_TOKEN_REMEDY = "The operator app has no access to this tenant. " + CONSENT_REMEDY
# Standard consent gives no Graph permission: the token request itself probes presence.
_register_token_check(
    STANDARD_CHECKS,
    lambda tid: graph.probe_app_token(tenant_id=tid),
    "Entra issued the operator app a token for this tenant, so its service principal is there.",
    TENANT_TOKEN_REMEDY,
)


@check(
    STANDARD_CHECKS,
    "consent_scopes",
    "VoIP granted in Microsoft's consent answer",
    "Send the tenant's admin a new consent link and ask them to accept it.",
)
def _consent_scopes(c: Check, probe: Probe) -> list[dict]:
    link = (
        probe.tenant.consent_links.filter(outcome=ConsentOutcome.GRANTED, used_at__isnull=False)
        .order_by("-used_at")
        .first()
        if probe.tenant
        else None
    )
    echoed = {s.rpartition("/")[2] for s in (link.granted_scopes if link else "").split()}
    missing = [s for s in REQUIRED_SCOPES if s not in echoed]
    return [
        c.finding(
            not missing,
            f"Microsoft's consent answer of {link.used_at:%Y-%m-%d %H:%M} granted "
            f"{', '.join(sorted(echoed)) or 'nothing'}."
            if link
            else "No granted consent answer is on record.",
        )
    ]


_register_token_check(
    DEEP_CHECKS,
    lambda tid: graph.acquire_app_token(tenant_id=tid),
    "The operator app can sign in to the tenant.",
    TENANT_TOKEN_REMEDY,
)


@check(
    DEEP_CHECKS,
    "organization",
    "Organization",
    "Grant Organization.Read.All (re-consent).",
    stops=True,
)
def _organization(c: Check, probe: Probe) -> list[dict]:
    org = graph.get_organization(tenant_id=probe.tid)
    probe.facts["organization"] = org
    return [c.finding(True, f"{org.display_name} ({org.default_domain})")]


@check(DEEP_CHECKS, "operator_sp", "Operator app in the tenant", CONSENT_REMEDY, stops=True)
def _operator_sp(c: Check, probe: Probe) -> list[dict]:
    sp = graph.find_service_principal(tenant_id=probe.tid, app_id=settings.ENTRA_CLIENT_ID)
    probe.operator_sp = sp
    if sp is None:  # Graph's word for the same loss (a token may still be cached)
        return [
            c.finding(
                False,
                "Not consented (yet, or any more): Graph finds no service principal of the "
                "operator app in this tenant (its enterprise application was deleted).",
                cause="operator_sp_deleted",
            )
        ]
    return [c.finding(True, f"Service principal of the operator app: {sp.id}")]


@check(
    DEEP_CHECKS,
    "acs_clients_sp",
    "ACS Clients service principal",
    "A tenant admin runs " + ACS_CLIENTS_SP_COMMAND + ", then opens a new consent link and "
    "accepts again.",
)
def _acs_clients_sp(c: Check, probe: Probe) -> list[dict]:
    sp = graph.find_service_principal(tenant_id=probe.tid, app_id=settings.ACS_CLIENTS_APP_ID)
    probe.acs_sp = sp
    if sp is None:
        return [
            c.finding(
                False,
                "Azure Communication Services Clients has no service principal in this tenant "
                "(deleted, or AADSTS650052 at consent); its users cannot get ACS tokens.",
                cause="acs_clients_sp_deleted",
            )
        ]
    return [c.finding(True, f"Azure Communication Services Clients is present ({sp.id}).")]


@check(
    DEEP_CHECKS,
    "delegated_grant",
    "VoIP permission granted (AllPrincipals)",
    CONSENT_REMEDY,
    needs=("operator_sp", "acs_sp"),
)
def _acs_grant(c: Check, probe: Probe) -> list[dict]:
    """The oauth2PermissionGrant from the operator app to ACS Clients: admin consent
    (consentType AllPrincipals) with every scope the app asks for (VoIP, VoIP.Join)."""
    assert probe.operator_sp and probe.acs_sp
    grants = graph.list_permission_grants(
        tenant_id=probe.tid, client_id=probe.operator_sp.id, resource_id=probe.acs_sp.id
    )
    admin = [g for g in grants if g.consent_type == "AllPrincipals"]
    scopes: set[str] = set().union(*(g.scopes for g in admin)) if admin else set()
    if not admin:
        detail = (
            "No admin consent (consentType AllPrincipals) from the operator app to "
            "Azure Communication Services Clients"
            + (" (only per-user consent found)." if grants else ".")
        )
        return [c.finding(False, detail, cause="acs_grant_removed")]
    missing = [s for s in EXPECTED_SCOPES if s not in scopes]
    if missing:
        return [
            c.finding(
                False,
                f"Admin consent to Azure Communication Services Clients lacks "
                f"{', '.join(missing)} (granted: {' '.join(sorted(scopes)) or 'nothing'}).",
                "Check that the app registration still requests ACS Clients "
                f"{', '.join(EXPECTED_SCOPES)}, then send the tenant's admin a new consent link.",
                cause="acs_grant_incomplete",
            )
        ]
    return [c.finding(True, f"Admin consent for {' '.join(sorted(scopes))}.")]


@check(
    DEEP_CHECKS,
    "group",
    "Group assigned to ACS Clients",
    f"A tenant admin assigns the group: {ENTERPRISE_APP_PATH} (group assignment needs Entra ID "
    "P1 or P2).",
    needs=("acs_sp", "groups"),
)
def _groups(c: Check, probe: Probe) -> list[dict]:
    """Each group the portal uses exists and is assigned to ACS Clients (appRoleAssignedTo)."""
    assert probe.acs_sp
    assigned = {
        a.principal_id
        for a in graph.list_app_role_assignments(sp_id=probe.acs_sp.id, tenant_id=probe.tid)
    }
    out, seen = [], {}
    for gid, name in probe.groups.items():
        group = graph.get_group(tenant_id=probe.tid, group_id=gid)
        key = f"group:{gid}"
        if group is None:
            out.append(
                c.finding(
                    False,
                    f"Group {name or gid} no longer exists in the tenant, so its members lost "
                    "their ACS access.",
                    "Remove it from the portal, or pick the group that replaced it.",
                    cause="group_deleted",
                    key=key,
                )
            )
            continue
        seen[gid] = group.display_name
        if gid in assigned:
            out.append(
                c.finding(True, f"{group.display_name} is assigned to ACS Clients.", key=key)
            )
        else:
            out.append(
                c.finding(
                    False,
                    f"{group.display_name} is not assigned to the Azure Communication Services "
                    "Clients enterprise application, so its members cannot get ACS tokens.",
                    cause="group_unassigned",
                    key=key,
                )
            )
    probe.facts["groups_seen"] = seen
    return out


# Service plans that allow assigning a group to an enterprise application: Entra ID P1
# (AAD_PREMIUM, also inside Microsoft 365 Business Premium, E3, E5) and P2.
GROUP_ASSIGNMENT_PLANS = {
    "41781fb2-bc02-4b7c-bd55-b576c07bb09d",  # AAD_PREMIUM
    "eec0eb4f-6444-4f95-aba0-50c24d67f998",  # AAD_PREMIUM_P2
}
LIVE_SKU_STATUSES = {"Enabled", "Warning"}  # Warning: in its grace period, still working


@check(
    DEEP_CHECKS,
    "licence",
    "Licence allows group assignment",
    "A tenant admin renews Microsoft Entra ID P1 or P2 (Microsoft 365 admin center > Billing > "
    "Your products), or the operator assigns the group's users one by one instead.",
    needs=("acs_sp", "groups"),
)
def _licence(c: Check, probe: Probe) -> list[dict]:
    """Graph does not refuse a group assignment without P1/P2 (the admin center does), so the
    licence is read where Graph states it: subscribedSkus (docs/microsoft/tenant-lifecycle.md)."""
    skus = graph.list_subscribed_skus(tenant_id=probe.tid)
    carrying = [s for s in skus if s.service_plan_ids & GROUP_ASSIGNMENT_PLANS]
    live = [s for s in carrying if s.capability_status in LIVE_SKU_STATUSES]
    if live:
        names = ", ".join(sorted({s.sku_part_number for s in live}))
        return [c.finding(True, f"Group assignment is licensed ({names}).")]
    if carrying:
        states = ", ".join(sorted({f"{s.sku_part_number} {s.capability_status}" for s in carrying}))
        detail = f"The tenant's Entra ID P1/P2 subscription is no longer active ({states})."
    else:
        detail = "The tenant has no Entra ID P1 or P2 subscription (subscribedSkus)."
    return [
        c.finding(
            False,
            detail + " Group assignment to enterprise applications needs it, so the portal's "
            "groups may stop granting ACS access.",
            cause="licence_lapsed",
        )
    ]


def _group_ids(tenant: CustomerTenant) -> dict[str, str]:
    """Groups of the tenant the portal uses: picked groups and group assignments."""
    groups = {str(g.object_id): g.display_name for g in tenant.groups.all()}
    try:
        from assignments.models import Assignment, PrincipalType

        for a in Assignment.objects.filter(tenant=tenant, principal_type=PrincipalType.GROUP):
            groups.setdefault(str(a.object_id), a.display_name)
    except (ImportError, LookupError):  # the assignments app is optional for this check
        pass
    return groups


# What a standard consent gives no way to check (no Graph permission), shown on the tenant page.
NOT_CHECKED_AT_STANDARD = (
    "the admin consent grant itself (consentType AllPrincipals with VoIP), read from Graph",
    "that Azure Communication Services Clients is present (consent fails with AADSTS650052 "
    "without it, so a granted consent implies it was there then)",
    "the organization's name and verified domains",
    "that each group the portal uses is assigned to the ACS Clients enterprise application",
)


def collect_findings(tenant: CustomerTenant) -> tuple[list[dict], dict]:
    """Run the checks of one tenant's level. Returns (findings, facts read from Graph)."""
    probe = Probe(tenant=tenant, tid=str(tenant.tenant_id))
    if tenant.verification_level == VerificationLevel.STANDARD:
        return run_checks(STANDARD_CHECKS, probe), {}
    probe.groups = _group_ids(tenant)
    return run_checks(DEEP_CHECKS, probe), probe.facts


def causes_of(findings: list[dict]) -> list[str]:
    """The causes of lost consent among failing findings, in CAUSES order."""
    found = {f["cause"] for f in findings if not f["ok"] and f.get("cause")}
    return [key for key in CAUSES if key in found]


def verdict(findings: list[dict]) -> str:
    """'ok', 'failed' (a definite answer says no) or 'unknown' (only silence says no)."""
    if findings and all(f["ok"] for f in findings):
        return "ok"
    if any(not f["ok"] and not f.get("unknown") for f in findings):
        return "failed"
    return "unknown"


def check_event(result: str, findings: list[dict]) -> Event:
    """The state machine's event for a check's verdict (tenants/lifecycle.py)."""
    if result == "ok":
        return Event.CHECK_PASSED
    if result == "unknown":  # only a definite answer changes the status
        return Event.CHECK_UNKNOWN
    if any(CAUSES[c].revokes for c in causes_of(findings)):
        return Event.CHECK_REVOKED
    return Event.CHECK_FAILED


def _action_of(
    result: str, findings: list[dict], moved: dict, previous: ConsentCheck | None
) -> tuple[str, dict]:
    """The audit action of a check and, when consent was lost, its cause.

    A tenant that had consented and fails for a cause the previous definite check did not show
    has lost consent *by that cause*: the event is the cause's own action (consent.revoked when
    the operator app's access is gone), with the cause, its label and remedy in the details. A
    failure that persists, or one of a tenant that never consented, is consent.check_failed.
    """
    if result == "ok":
        return Action.CONSENT_VERIFIED, {}
    if result == "unknown":
        return Action.CONSENT_CHECK_UNKNOWN, {}
    causes = causes_of(findings)
    had_consent = moved["from"] in lifecycle.CONSENTING
    before = set(causes_of(previous.findings)) if previous and not previous.ok else set()
    new = [c for c in causes if c not in before]
    revoked = moved["to"] == TenantStatus.REVOKED and moved["from"] != TenantStatus.REVOKED
    if revoked:
        new = [c for c in causes if CAUSES[c].revokes] or new
    if not (revoked or (had_consent and new)):
        return Action.CONSENT_CHECK_FAILED, {"causes": causes} if causes else {}
    cause = CAUSES[new[0]]
    remedy = next(f["remedy"] for f in findings if f.get("cause") == cause.key and not f["ok"])
    return (Action.CONSENT_REVOKED if revoked else cause.action), {
        "cause": cause.key,
        "cause_label": cause.label,
        "remedy": remedy,
        "causes": causes,
    }


def verify_consent(
    *,
    tenant: CustomerTenant,
    trigger: str = CheckTrigger.MANUAL,
    actor: Actor | None = None,
    attempt: int = 0,
) -> ConsentCheck:
    """Check the tenant through Graph, store a ConsentCheck and move the status.

    All checks pass → ``verified``. A definite failure → ``attention`` once the tenant has
    consented (an invited or declined tenant keeps its status). When Microsoft could not answer
    (throttled, 5xx, timeout) the check is *unknown*: the status stays, and the check is
    retried after ``RETRY_DELAYS[attempt]`` (``attempt`` counts the retries so far).
    """
    tenant = CustomerTenant.objects.get(pk=tenant.pk)  # the level and groups as stored now
    if trigger != CheckTrigger.PERIODIC:
        # After a consent answer or on "Verify now" the answer must be today's: a token cached
        # from before (an earlier consent, other roles) would report the old permissions.
        graph.forget_tenant(str(tenant.tenant_id))
    try:
        findings, facts = collect_findings(tenant)
    except graph.GraphError as error:
        findings, facts = [_graph_failure("graph", error)], {}
    result = verdict(findings)
    actor = actor or Actor.system(f"verification ({trigger})")
    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        org = facts.get("organization")
        if org is not None:
            tenant.graph_name = org.display_name or tenant.graph_name
            if not tenant.name_from_operator:  # a name the operator typed is theirs to keep
                tenant.display_name = org.display_name or tenant.display_name
            tenant.verified_domains = org.verified_domains
            tenant.primary_domain = org.default_domain or tenant.primary_domain
        now = timezone.now()
        for gid, name in facts.get("groups_seen", {}).items():
            CustomerGroup.objects.filter(tenant=tenant, object_id=gid).update(
                display_name=name, last_seen_at=now
            )
        previous = (
            ConsentCheck.objects.filter(tenant=tenant, unknown=False).order_by("-at", "-pk").first()
        )
        moved = lifecycle.apply(tenant, check_event(result, findings))
        if result != "unknown":
            tenant.last_verified_at = now
        tenant.save()
        check = ConsentCheck.objects.create(
            tenant=tenant,
            trigger=trigger,
            level=tenant.verification_level,
            ok=result == "ok",
            unknown=result == "unknown",
            findings=findings,
        )
        action, lost = _action_of(result, findings, moved, previous)
        retrying = result == "unknown" and attempt < len(RETRY_DELAYS)
        retry_in = RETRY_DELAYS[attempt] if retrying else 0
        record_event(
            actor=actor,
            action=action,
            target=tenant,
            tenant=tenant,
            details={
                "check": check.pk,
                "trigger": trigger,
                "level": tenant.verification_level,
                "failed": [f["check"] for f in findings if not f["ok"]],
                "status": moved,
                **lost,
                **({"retry_in_seconds": retry_in} if result == "unknown" else {}),
            },
        )
        if retry_in:
            tenant_pk = tenant.pk
            transaction.on_commit(
                lambda: enqueue_verification(
                    tenant_pk, trigger, attempt=attempt + 1, countdown=retry_in
                )
            )
    return check


# --- home preflight ---------------------------------------------------------------------------


_register_token_check(
    HOME_CHECKS,
    lambda tid: graph.acquire_app_token(tenant_id=tid),
    "The operator app signs in to the home tenant.",
    "Check ENTRA_CLIENT_SECRET and that the app exists in the home tenant.",
)


@check(
    HOME_CHECKS,
    "acs_clients_sp",
    "ACS Clients service principal",
    f"Create it with the button below, or run {ACS_CLIENTS_SP_COMMAND}.",
)
def _home_acs_clients(c: Check, probe: Probe) -> list[dict]:
    sp = graph.find_service_principal(tenant_id=probe.tid, app_id=settings.ACS_CLIENTS_APP_ID)
    probe.acs_sp = sp
    return [
        c.finding(
            sp is not None,
            "Azure Communication Services Clients is present in the home tenant."
            if sp
            else "Azure Communication Services Clients has no service principal in the home "
            "tenant.",
        )
    ]


@check(
    HOME_CHECKS,
    "app_registration",
    "App registration",
    "Check ENTRA_CLIENT_ID and ENTRA_HOME_TENANT_ID.",
    stops=True,
)
def _home_app(c: Check, probe: Probe) -> list[dict]:
    """Found quietly: only its absence is a finding (the checks below read it)."""
    probe.app = graph.get_application(tenant_id=probe.tid, app_id=settings.ENTRA_CLIENT_ID)
    if probe.app is None:
        return [
            c.finding(False, f"No app registration {settings.ENTRA_CLIENT_ID} in the home tenant.")
        ]
    return []


@check(
    HOME_CHECKS,
    "multitenant",
    "App is multitenant",
    "Make the app multitenant: App registrations > your app > Authentication > Supported "
    "account types > 'Accounts in any organizational directory'.",
    needs=("app",),
)
def _home_multitenant(c: Check, probe: Probe) -> list[dict]:
    assert probe.app
    customers = CustomerTenant.objects.filter(is_home=False).exists()
    audience = probe.app.sign_in_audience
    multitenant = audience in ("AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount")
    return [
        c.finding(
            multitenant or not customers,
            f"signInAudience is {audience}."
            + ("" if multitenant else " Fine while only the home tenant is onboarded."),
        )
    ]


def _redirect_finding(c: Check, uri: str, app: graph.Application, what: str) -> dict:
    there = uri in app.redirect_uris
    return c.finding(
        there,
        f"The {what} {uri} is " + ("registered." if there else "not among the redirect URIs."),
        c.remedy.format(uri=uri),
    )


@check(
    HOME_CHECKS,
    "redirect_uri",
    "Consent callback registered",
    "Add {uri} as a Web redirect URI: App registrations > your app > Authentication > Add a "
    "platform > Web.",
    needs=("app",),
)
def _home_redirect(c: Check, probe: Probe) -> list[dict]:
    assert probe.app
    return [_redirect_finding(c, callback_url(), probe.app, "consent callback")]


@check(
    HOME_CHECKS,
    "user_test_redirect_uri",
    "User test callback registered",
    "Add {uri} as a Web redirect URI (same place), so that a customer's user can test the "
    "consent from the result page.",
    needs=("app",),
)
def _home_test_redirect(c: Check, probe: Probe) -> list[dict]:
    assert probe.app
    uri = settings.PORTAL_BASE_URL.rstrip("/") + reverse("tenants:user_test_callback")
    return [_redirect_finding(c, uri, probe.app, "user test callback")]


@check(
    HOME_CHECKS,
    "acs_permissions",
    "App requests VoIP, VoIP.Join",
    "App registrations > your app > API permissions > Add a permission > APIs my organization "
    "uses > Azure Communication Services Clients > Delegated: VoIP, VoIP.Join.",
    needs=("app",),
)
def _home_acs_permissions(c: Check, probe: Probe) -> list[dict]:
    assert probe.app
    requested = probe.app.required_resource_access.get(settings.ACS_CLIENTS_APP_ID, {}).get(
        "Scope", set()
    )
    if probe.acs_sp is None:
        ok = bool(requested)
        detail = ngettext(
            "The app requests %(count)d ACS Clients delegated permission; its name is checked "
            "once the ACS Clients service principal exists.",
            "The app requests %(count)d ACS Clients delegated permissions; names are checked "
            "once the ACS Clients service principal exists.",
            len(requested),
        ) % {"count": len(requested)}
    else:
        names = {pid: name for name, pid in probe.acs_sp.published_scopes.items()}
        have = sorted(names.get(pid, pid) for pid in requested)
        ok = all(probe.acs_sp.published_scopes.get(s) in requested for s in EXPECTED_SCOPES)
        detail = "The app requests ACS Clients: " + (", ".join(have) or "nothing") + "."
    return [c.finding(ok, detail)]


@check(
    HOME_CHECKS,
    "credentials",
    "Operator app credentials",
    "Entra admin center > App registrations > the operator app > Certificates & secrets: add a "
    "new secret (or certificate) before this one ends, then update ENTRA_CLIENT_SECRET.",
)
def _home_credentials(c: Check, probe: Probe) -> list[dict]:
    """The operator app's client secrets and certificates and their end dates, read through
    Graph as the daily expiry watch reads them (notifications/credentials.py)."""
    from notifications.credentials import days_left, read_credentials

    now = timezone.now()
    out = []
    for credential in read_credentials():
        what = "client secret" if credential.kind == "password" else "certificate"
        name = credential.display_name or credential.key_id
        left = days_left(credential, now)
        if left is None:
            out.append(c.finding(True, f"The {what} ({name}) has no end date."))
        elif left <= 0:
            out.append(
                c.finding(False, f"The {what} expired on {credential.end:%Y-%m-%d} ({name}).")
            )
        elif left <= max(settings.CREDENTIAL_EXPIRY_WARN_DAYS, default=30):
            warn = c.finding(
                True,
                f"The {what} expires in {left} day{'s' if left != 1 else ''} "
                f"({name}, ends {credential.end:%Y-%m-%d}).",
                c.remedy,
            )
            warn["warning"] = True
            out.append(warn)
        else:
            out.append(
                c.finding(True, f"The {what} is valid until {credential.end:%Y-%m-%d} ({name}).")
            )
    if not out:
        out.append(c.finding(False, "The operator app has no client secret or certificate."))
    return out


def run_preflight() -> list[dict]:
    """Checks of the home tenant and the operator app registration, each with its remedy."""
    home = settings.ENTRA_HOME_TENANT_ID
    if not home or not settings.ENTRA_CLIENT_ID:
        return [
            finding(
                "configuration",
                False,
                "ENTRA_HOME_TENANT_ID or ENTRA_CLIENT_ID is not set.",
                "Set both environment variables and restart the portal.",
            )
        ]
    return run_checks(HOME_CHECKS, Probe(tenant=None, tid=home))


def create_home_acs_clients_sp(*, actor: Actor) -> graph.ServicePrincipal:
    """Create ACS Clients' service principal in the home tenant (Application.ReadWrite.All)."""
    home = settings.ENTRA_HOME_TENANT_ID
    existing = graph.find_service_principal(tenant_id=home, app_id=settings.ACS_CLIENTS_APP_ID)
    sp = existing or graph.create_service_principal(
        tenant_id=home, app_id=settings.ACS_CLIENTS_APP_ID
    )
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.PREFLIGHT_ACS_SP_CREATED,
            target_type="serviceprincipal",
            target_id=sp.id,
            target_label=sp.display_name or "Azure Communication Services Clients",
            details={"tenant_id": home, "already_present": existing is not None},
        )
    return sp
