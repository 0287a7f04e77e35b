"""Evidence from Graph: is a tenant's consent in place, is the home tenant ready (preflight).

A finding is ``{"check", "ok", "detail", "remedy"}``. Graph is read first, outside any
transaction; the result is then stored with its status move and audit event in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import graph, lifecycle
from tenants.aadsts import ACS_CLIENTS_SP_COMMAND
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
from tenants.services import callback_url, enqueue_verification

logger = logging.getLogger(__name__)
T = TypeVar("T")
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


# Entra's answers to an app-only token request when the operator app has no usable service
# principal in the tenant: never consented, consent removed (AADSTS7000229, AADSTS700016) or
# the service principal disabled (AADSTS7000112). docs/microsoft/consent-endpoint.md
NO_SERVICE_PRINCIPAL = {"AADSTS7000229", "AADSTS700016"}
SERVICE_PRINCIPAL_DISABLED = {"AADSTS7000112"}
CONSENT_REMEDY = "Send the tenant's admin a consent link and ask them to accept it."


def _app_token(findings: list[dict], get_token: Callable[[], object], ok_detail: str) -> None:
    """The first check of every level: can the operator app get a token for the tenant?

    A refusal that means "no service principal" is the plain answer "not consented (any
    more)", marked ``no_service_principal`` so that a tenant which had consented is revoked.
    """
    try:
        get_token()
    except graph.GraphError as error:
        if error.code in NO_SERVICE_PRINCIPAL | SERVICE_PRINCIPAL_DISABLED:
            disabled = error.code in SERVICE_PRINCIPAL_DISABLED
            found = finding(
                "app_token",
                False,
                (
                    "Consent is in place but the operator app's service principal is disabled "
                    f"in this tenant ({error.code})."
                    if disabled
                    else "Not consented (yet, or any more): Entra has no service principal of "
                    f"the operator app in this tenant ({error.code})."
                ),
                (
                    "A tenant admin enables it: Entra admin center > Enterprise applications > "
                    "the operator app > Properties > Enabled for users to sign in: Yes."
                    if disabled
                    else CONSENT_REMEDY
                ),
            )
            found["no_service_principal"] = True
            findings.append(found)
        else:
            findings.append(
                _graph_failure(
                    "app_token",
                    error,
                    "The operator app has no access to this tenant. " + CONSENT_REMEDY,
                )
            )
        raise _Stop from error
    findings.append(finding("app_token", True, ok_detail))


class _Stop(Exception):
    """Graph failed in a way that makes the remaining checks meaningless."""


def _ask(findings: list[dict], check: str, remedy: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except graph.GraphError as error:
        findings.append(_graph_failure(check, error, remedy))
        raise _Stop from error


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


def _standard_findings(tenant: CustomerTenant) -> list[dict]:
    """What standard consent allows: an app-only token probe and the scopes Entra echoed."""
    tid, findings = str(tenant.tenant_id), []
    try:
        _app_token(
            findings,
            lambda: graph.probe_app_token(tenant_id=tid),
            "Entra issued the operator app a token for this tenant, so its service principal "
            "is there.",
        )
    except _Stop:
        return findings
    link = (
        tenant.consent_links.filter(outcome=ConsentOutcome.GRANTED, used_at__isnull=False)
        .order_by("-used_at")
        .first()
    )
    echoed = {s.rpartition("/")[2] for s in (link.granted_scopes if link else "").split()}
    missing = [s for s in REQUIRED_SCOPES if s not in echoed]
    findings.append(
        finding(
            "consent_scopes",
            not missing,
            f"Microsoft's consent answer of {link.used_at:%Y-%m-%d %H:%M} granted "
            f"{', '.join(sorted(echoed)) or 'nothing'}."
            if link
            else "No granted consent answer is on record.",
            "Send the tenant's admin a new consent link and ask them to accept it.",
        )
    )
    return findings


def collect_findings(tenant: CustomerTenant) -> tuple[list[dict], dict]:
    """Run the checks of one tenant's level. Returns (findings, facts read from Graph)."""
    if tenant.verification_level == VerificationLevel.STANDARD:
        return _standard_findings(tenant), {}
    tid, findings, facts = str(tenant.tenant_id), [], {}
    consent_remedy = CONSENT_REMEDY
    try:
        _app_token(
            findings,
            lambda: graph.acquire_app_token(tenant_id=tid),
            "The operator app can sign in to the tenant.",
        )
        org = _ask(
            findings,
            "organization",
            "Grant Organization.Read.All (re-consent).",
            lambda: graph.get_organization(tenant_id=tid),
        )
        facts["organization"] = org
        findings.append(finding("organization", True, f"{org.display_name} ({org.default_domain})"))
        operator_sp = _ask(
            findings,
            "operator_sp",
            consent_remedy,
            lambda: graph.find_service_principal(tenant_id=tid, app_id=settings.ENTRA_CLIENT_ID),
        )
        found = finding(
            "operator_sp",
            operator_sp is not None,
            f"Service principal of the operator app: {operator_sp.id}"
            if operator_sp
            else "Not consented (yet, or any more): Graph finds no service principal of the "
            "operator app in this tenant (its enterprise application was deleted).",
            consent_remedy,
        )
        if operator_sp is None:  # Graph's word for the same loss (a token may still be cached)
            found["no_service_principal"] = True
        findings.append(found)
        acs_sp = _ask(
            findings,
            "acs_clients_sp",
            f"Run: {ACS_CLIENTS_SP_COMMAND}",
            lambda: graph.find_service_principal(tenant_id=tid, app_id=settings.ACS_CLIENTS_APP_ID),
        )
        findings.append(
            finding(
                "acs_clients_sp",
                acs_sp is not None,
                f"Azure Communication Services Clients is present ({acs_sp.id})."
                if acs_sp
                else "Azure Communication Services Clients has no service principal in this "
                "tenant (AADSTS650052 at consent).",
                "A tenant admin runs `" + ACS_CLIENTS_SP_COMMAND + "`, then opens a new consent "
                "link and accepts again.",
            )
        )
        if operator_sp and acs_sp:
            try:
                findings.append(_grant_finding(tid, operator_sp.id, acs_sp.id, consent_remedy))
                groups = _group_ids(tenant)
                if groups:
                    findings.extend(_group_findings(tid, acs_sp.id, groups, facts))
            except graph.GraphError as error:
                findings.append(_graph_failure("graph", error))
    except _Stop:
        pass
    return findings, facts


def _grant_finding(tid: str, operator_sp_id: str, acs_sp_id: str, remedy: str) -> dict:
    grants = graph.list_permission_grants(
        tenant_id=tid, client_id=operator_sp_id, resource_id=acs_sp_id
    )
    admin = [g for g in grants if g.consent_type == "AllPrincipals"]
    scopes = set().union(*(g.scopes for g in admin)) if admin else set()
    missing = [s for s in REQUIRED_SCOPES if s not in scopes]
    if not admin:
        detail = (
            "No admin consent (consentType AllPrincipals) from the operator app to "
            "Azure Communication Services Clients"
            + (" (only per-user consent found)." if grants else ".")
        )
        return finding("delegated_grant", False, detail, remedy)
    if missing:
        return finding(
            "delegated_grant",
            False,
            f"Admin consent lacks {', '.join(missing)} (granted: {' '.join(sorted(scopes))}).",
            "Add the ACS Clients VoIP permission to the app registration, then re-consent.",
        )
    extra = [s for s in EXPECTED_SCOPES if s not in scopes]
    note = f" ({', '.join(extra)} not granted)" if extra else ""
    return finding("delegated_grant", True, f"Admin consent for {' '.join(sorted(scopes))}{note}.")


def _group_findings(tid: str, acs_sp_id: str, groups: dict[str, str], facts: dict) -> list[dict]:
    assigned = {
        a.principal_id for a in graph.list_app_role_assignments(sp_id=acs_sp_id, tenant_id=tid)
    }
    out, seen = [], {}
    for gid, name in groups.items():
        group = graph.get_group(tenant_id=tid, group_id=gid)
        label = f"group:{gid}"
        if group is None:
            out.append(
                finding(
                    label,
                    False,
                    f"Group {name or gid} no longer exists in the tenant.",
                    "Remove it from the portal, or pick the group that replaced it.",
                )
            )
            continue
        seen[gid] = group.display_name
        if gid in assigned:
            out.append(finding(label, True, f"{group.display_name} is assigned to ACS Clients."))
        else:
            out.append(
                finding(
                    label,
                    False,
                    f"{group.display_name} is not assigned to the Azure Communication Services "
                    "Clients enterprise application, so its members cannot get ACS tokens.",
                    f"A tenant admin assigns the group: {ENTERPRISE_APP_PATH} (group assignment "
                    "needs Entra ID P1 or P2).",
                )
            )
    facts["groups_seen"] = seen
    return out


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
    if any(f.get("no_service_principal") for f in findings):
        return Event.CHECK_REVOKED
    return Event.CHECK_FAILED


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
        action = {
            "ok": Action.CONSENT_VERIFIED,
            "failed": Action.CONSENT_CHECK_FAILED,
            "unknown": Action.CONSENT_CHECK_UNKNOWN,
        }[result]
        if moved["to"] == TenantStatus.REVOKED and moved["from"] != TenantStatus.REVOKED:
            action = Action.CONSENT_REVOKED  # access lost in the tenant: its own event
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
    findings: list[dict] = []
    try:
        _ask(
            findings,
            "app_token",
            "Check ENTRA_CLIENT_SECRET and that the app exists in the home tenant.",
            lambda: graph.acquire_app_token(tenant_id=home),
        )
        findings.append(finding("app_token", True, "The operator app signs in to the home tenant."))
        acs_sp = _ask(
            findings,
            "acs_clients_sp",
            f"Run: {ACS_CLIENTS_SP_COMMAND}",
            lambda: graph.find_service_principal(
                tenant_id=home, app_id=settings.ACS_CLIENTS_APP_ID
            ),
        )
        findings.append(
            finding(
                "acs_clients_sp",
                acs_sp is not None,
                "Azure Communication Services Clients is present in the home tenant."
                if acs_sp
                else "Azure Communication Services Clients has no service principal in the "
                "home tenant.",
                f"Create it with the button below, or run `{ACS_CLIENTS_SP_COMMAND}`.",
            )
        )
        app = _ask(
            findings,
            "app_registration",
            "Check ENTRA_CLIENT_ID.",
            lambda: graph.get_application(tenant_id=home, app_id=settings.ENTRA_CLIENT_ID),
        )
        if app is None:
            findings.append(
                finding(
                    "app_registration",
                    False,
                    f"No app registration {settings.ENTRA_CLIENT_ID} in the home tenant.",
                    "Check ENTRA_CLIENT_ID and ENTRA_HOME_TENANT_ID.",
                )
            )
            return findings
        findings.extend(_app_findings(app, acs_sp))
    except _Stop:
        pass
    return findings


def _app_findings(app: graph.Application, acs_sp: graph.ServicePrincipal | None) -> list[dict]:
    out = []
    customers = CustomerTenant.objects.filter(is_home=False).exists()
    multitenant = app.sign_in_audience in (
        "AzureADMultipleOrgs",
        "AzureADandPersonalMicrosoftAccount",
    )
    out.append(
        finding(
            "multitenant",
            multitenant or not customers,
            f"signInAudience is {app.sign_in_audience}."
            + ("" if multitenant else " Fine while only the home tenant is onboarded."),
            "Make the app multitenant: App registrations > your app > Authentication > "
            "Supported account types > 'Accounts in any organizational directory'.",
        )
    )
    expected = callback_url()
    out.append(
        finding(
            "redirect_uri",
            expected in app.redirect_uris,
            f"The consent callback {expected} is "
            + ("registered." if expected in app.redirect_uris else "not among the redirect URIs."),
            f"Add {expected} as a Web redirect URI: App registrations > your app > "
            "Authentication > Add a platform > Web.",
        )
    )
    test_uri = settings.PORTAL_BASE_URL.rstrip("/") + reverse("tenants:user_test_callback")
    out.append(
        finding(
            "user_test_redirect_uri",
            test_uri in app.redirect_uris,
            f"The user test callback {test_uri} is "
            + ("registered." if test_uri in app.redirect_uris else "not among the redirect URIs."),
            f"Add {test_uri} as a Web redirect URI (same place), so that a customer's user can "
            "test the consent from the result page.",
        )
    )
    requested = app.required_resource_access.get(settings.ACS_CLIENTS_APP_ID, {}).get(
        "Scope", set()
    )
    if acs_sp is None:
        ok, detail = (
            bool(requested),
            (
                f"The app requests {len(requested)} ACS Clients delegated permission(s); names are "
                "checked once the ACS Clients service principal exists."
            ),
        )
    else:
        names = {pid: name for name, pid in acs_sp.published_scopes.items()}
        have = sorted(names.get(pid, pid) for pid in requested)
        ok = all(acs_sp.published_scopes.get(s) in requested for s in EXPECTED_SCOPES)
        detail = "The app requests ACS Clients: " + (", ".join(have) or "nothing") + "."
    out.append(
        finding(
            "acs_permissions",
            ok,
            detail,
            "App registrations > your app > API permissions > Add a permission > APIs my "
            "organization uses > Azure Communication Services Clients > Delegated: VoIP, "
            "VoIP.Join.",
        )
    )
    return out


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
