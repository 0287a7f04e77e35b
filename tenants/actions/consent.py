"""The consent protocol: links (issue, email, revoke, re-issue), the signed state sent to
Microsoft, the callback that records the answer, and the customer user's test.

Each service is keyword-only, runs in one transaction and writes one audit event. Tenant
status moves only through ``lifecycle.apply``. docs/microsoft/consent-endpoint.md
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import aadsts, lifecycle, tasks
from tenants.errors import InvalidTransition, TenantError
from tenants.lifecycle import Event
from tenants.models import (
    CheckTrigger,
    ConsentCheck,
    ConsentLink,
    ConsentOutcome,
    CustomerTenant,
    UserTest,
    VerificationLevel,
)
from tenants.names import clean_name

logger = logging.getLogger(__name__)

STATE_SALT = "tenants.consent-state"
# The ACS Clients delegated permissions as a v2 request names them
# (docs/microsoft/consent-roles.md).
ACS_CLIENTS_SCOPE_BASE = "https://communication.azure.com/clients"
ACS_CLIENTS_SCOPES = ("VoIP", "VoIP.Join")


class LinkUnavailable(TenantError):
    """The consent link is unknown, expired, revoked or already used (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallbackRejected(TenantError):
    """A consent callback that must change nothing (bad, replayed, tampered, foreign tenant)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_url() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("tenants:consent_callback")


def link_url(token: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("tenants:consent_landing", args=[token])


# --- consent links ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    link: ConsentLink
    token: str  # shown once; only its hash is stored

    @property
    def url(self) -> str:
        return link_url(self.token)


def issue_consent_link(
    *,
    actor: Actor,
    tenant: CustomerTenant,
    admin_email: str = "",
    note: str = "",
    days: int | None = None,
    version: str = "v1",
    level: str = "",
    replaces: ConsentLink | None = None,
) -> IssuedLink:
    """Create a consent link; the token (256 random bits) is returned once and stored hashed.

    ``level``: ``standard`` or ``deep`` (default: the portal's ``VERIFICATION_LEVEL``); a
    standard link always uses the v2 endpoint, which alone can ask for named scopes.
    ``replaces``: a link of the same tenant revoked in the same step (re-issue), recorded in
    the one ``consent.link_created`` event.
    """
    if version not in ("v1", "v2"):
        raise TenantError("The consent version must be v1 or v2.")
    level = level or settings.VERIFICATION_LEVEL
    if level not in VerificationLevel.values:
        raise TenantError("The verification level must be standard or deep.")
    if level == VerificationLevel.STANDARD:
        version = "v2"
    days = days or settings.CONSENT_LINK_DAYS
    if not 1 <= days <= 90:
        raise TenantError("A consent link lives between 1 and 90 days.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        details: dict = {"status": lifecycle.apply(tenant, Event.LINK_ISSUED)}
        tenant.save(update_fields=["status", "status_changed_at"])
        if replaces is not None:
            ConsentLink.objects.filter(pk=replaces.pk, tenant=tenant, revoked_at=None).update(
                revoked_at=timezone.now(), state_nonce=""
            )
            details["replaces_link"] = replaces.pk
        link = ConsentLink.objects.create(
            tenant=tenant,
            token_hash=hash_token(token),
            admin_email=admin_email.strip(),
            note=note.strip(),
            consent_version=version,
            verification_level=level,
            created_by=actor.user,
            expires_at=timezone.now() + timedelta(days=days),
        )
        record_event(
            actor=actor,
            action=Action.CONSENT_LINK_CREATED,
            target=link,
            tenant=tenant,
            details={
                "link": link.pk,
                "expires_at": link.expires_at.isoformat(),
                "version": version,
                "level": level,
                "admin_email": link.admin_email,
                **details,
            },
        )
    return IssuedLink(link=link, token=token)


def revoke_consent_link(*, actor: Actor, link: ConsentLink) -> ConsentLink:
    """Revoke a link so it can no longer start consent (idempotent on revoked links)."""
    with transaction.atomic():
        link = ConsentLink.objects.select_for_update().get(pk=link.pk)
        if link.revoked_at:
            return link
        link.revoked_at = timezone.now()
        link.state_nonce = ""
        link.save(update_fields=["revoked_at", "state_nonce"])
        record_event(
            actor=actor,
            action=Action.CONSENT_LINK_REVOKED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk},
        )
    return link


def reissue_consent_link(*, actor: Actor, link: ConsentLink) -> IssuedLink:
    """Revoke ``link`` and issue a new one with the same email, note and version (one event)."""
    return issue_consent_link(
        actor=actor,
        tenant=link.tenant,
        admin_email=link.admin_email,
        note=link.note,
        version=link.consent_version,
        level=link.verification_level,
        replaces=link,
    )


def email_consent_link(*, actor: Actor, link: ConsentLink, token: str, to: str = "") -> str:
    """Email the link to its admin (or ``to``). ``token`` must be the link's own token."""
    if not hmac.compare_digest(hash_token(token or ""), link.token_hash):
        raise TenantError("That token does not belong to this link.")
    if link.unavailable_reason:
        raise TenantError(f"This link is {link.unavailable_reason}; issue a new one.")
    recipient = (to or link.admin_email).strip()
    if not recipient:
        raise TenantError("Give the customer admin's email address.")
    operator = settings.OPERATOR_NAME
    body = (
        f"Hello,\n\n{operator} asks you, as an administrator of {link.tenant}, to grant admin "
        f"consent so that your users can call and join meetings with Azure Communication "
        f"Services using their Microsoft Entra ID accounts.\n\n"
        f"Open this link to read what is asked and continue to Microsoft:\n{link_url(token)}\n\n"
        f"The link works until {link.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        + (f"\nNote from {operator}: {link.note}\n" if link.note else "")
    )
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.CONSENT_LINK_EMAILED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, "to": recipient},
        )
        send_mail(
            f"{operator}: admin consent for Azure Communication Services", body, None, [recipient]
        )
    return recipient


def find_link(token: str) -> ConsentLink:
    """The link of ``token`` (compared in constant time); LinkUnavailable('unknown') if none."""
    digest = hash_token(token or "")
    link = ConsentLink.objects.select_related("tenant").filter(token_hash=digest).first()
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise LinkUnavailable("unknown")
    return link


def _usable_link(token: str) -> ConsentLink:
    link = find_link(token)
    if link.unavailable_reason:
        raise LinkUnavailable(link.unavailable_reason)
    return link


def open_consent_link(*, token: str, ip: str | None = None) -> ConsentLink:
    """The customer admin opened the landing page: note the first opening."""
    link = _usable_link(token)
    if link.opened_at:
        return link
    with transaction.atomic():
        updated = ConsentLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        )
        if updated:
            record_event(
                actor=Actor.customer_admin(tenant_label=str(link.tenant), ip=ip),
                action=Action.CONSENT_LINK_OPENED,
                target=link,
                tenant=link.tenant,
                details={"link": link.pk},
            )
    link.refresh_from_db()
    return link


def build_admin_consent_url(
    *, tenant_id: str, state: str, version: str = "v1", level: str = VerificationLevel.DEEP
) -> str:
    """Microsoft's admin consent URL for the operator app in ``tenant_id``.

    Standard: the v2 endpoint naming only the ACS Clients delegated scopes, which a Global,
    Application or Cloud application admin may grant; deep: every permission of the app
    registration (v1, or v2 ``.default``). docs/microsoft/consent-endpoint.md
    """
    host = settings.ENTRA_AUTHORITY_HOST.rstrip("/")
    params = {"client_id": settings.ENTRA_CLIENT_ID}
    if level == VerificationLevel.STANDARD:
        params["scope"] = " ".join(f"{ACS_CLIENTS_SCOPE_BASE}/{s}" for s in ACS_CLIENTS_SCOPES)
        path = f"{host}/{tenant_id}/v2.0/adminconsent"
    elif version == "v2":
        params["scope"] = "https://graph.microsoft.com/.default"
        path = f"{host}/{tenant_id}/v2.0/adminconsent"
    else:
        path = f"{host}/{tenant_id}/adminconsent"
    params.update({"redirect_uri": callback_url(), "state": state})
    return f"{path}?{urlencode(params)}"


def start_admin_consent(*, token: str, ip: str | None = None) -> str:
    """Bind a fresh single-use ``state`` to the link and return Microsoft's consent URL.

    A new state replaces the previous one, so only the latest redirect can come back.
    """
    with transaction.atomic():
        link = _usable_link(token)
        link = ConsentLink.objects.select_for_update().select_related("tenant").get(pk=link.pk)
        nonce = secrets.token_urlsafe(24)
        link.state_nonce, link.state_issued_at = nonce, timezone.now()
        link.save(update_fields=["state_nonce", "state_issued_at"])
        state = signing.dumps({"l": link.pk, "n": nonce}, salt=STATE_SALT, compress=True)
        record_event(
            actor=Actor.customer_admin(tenant_label=str(link.tenant), ip=ip),
            action=Action.CONSENT_REDIRECTED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, "version": link.consent_version},
        )
    return build_admin_consent_url(
        tenant_id=str(link.tenant.tenant_id),
        state=state,
        version=link.consent_version,
        level=link.verification_level,
    )


def read_state(state: str) -> tuple[int, str]:
    """(link pk, nonce) from a signed state; CallbackRejected when bad or too old."""
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=settings.CONSENT_STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise CallbackRejected(
            "This consent answer arrived too late. Open the consent link again."
        ) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise CallbackRejected("This consent answer is not one the portal sent out.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        raise CallbackRejected("This consent answer is not one the portal sent out.")
    nonce = data.get("n")
    if not isinstance(nonce, str) or not nonce:
        raise CallbackRejected("This consent answer is not one the portal sent out.")
    return data["l"], nonce


@dataclass(frozen=True)
class CallbackResult:
    link: ConsentLink
    tenant: CustomerTenant
    outcome: str
    explanation: aadsts.Explanation | None
    # The answer came back again (Refresh, Back) after its outcome was recorded: the page shows
    # that outcome and nothing changed.
    replayed: bool = False


def _record_rejected(link: ConsentLink, ip: str | None, details: dict) -> None:
    """The one event of a callback that changed nothing although its state was genuine."""
    with transaction.atomic():
        record_event(
            actor=Actor.customer_admin(tenant_label=str(link.tenant), ip=ip),
            action=Action.CONSENT_CALLBACK_REJECTED,
            target=link,
            tenant=link.tenant,
            details={"link": link.pk, **details},
        )


def _reject(link: ConsentLink, ip: str | None, reason: str, details: dict) -> None:
    """Record a refused callback whose state was genuine (its link is known)."""
    _record_rejected(link, ip, {"reason": reason, **details})
    raise CallbackRejected(reason)


def _replayed(link: ConsentLink, ip: str | None) -> CallbackResult:
    """A genuine state whose answer is already recorded: record the replay, show the outcome.

    The outcome shown is the one on record, whatever the replayed query says.
    """
    _record_rejected(link, ip, {"replay": True, "outcome_shown": link.outcome})
    explanation = None
    if link.outcome != ConsentOutcome.GRANTED:
        explanation = aadsts.explain(link.error_code or "AADSTS65004")
    return CallbackResult(
        link=link,
        tenant=link.tenant,
        outcome=link.outcome,
        explanation=explanation,
        replayed=True,
    )


def record_consent_callback(*, params: Mapping[str, str], ip: str | None = None) -> CallbackResult:
    """Handle Microsoft's redirect back: validate, record the outcome, enqueue verification.

    Refuses (CallbackRejected, nothing changed) a missing, tampered, expired or replayed state,
    a link that is no longer usable, and an answer from another tenant than the invited one.
    """
    params = {k: str(v).replace("\x00", "") for k, v in params.items()}
    state = params.get("state") or ""
    if not state or len(state) > 2000:
        raise CallbackRejected("This consent answer has no valid state.")
    link_pk, nonce = read_state(state)
    link = ConsentLink.objects.select_related("tenant").filter(pk=link_pk).first()
    if link is None:
        raise CallbackRejected("This consent answer is not one the portal sent out.")
    if not link.state_nonce or not hmac.compare_digest(link.state_nonce, nonce):
        if link.outcome:
            return _replayed(link, ip)
        _reject(
            link,
            ip,
            "This consent answer was already used (or replaced by a newer one).",
            {"replay": True},
        )
    if link.unavailable_reason:
        _reject(link, ip, f"This consent link is {link.unavailable_reason}.", {})
    invited = str(link.tenant.tenant_id)
    returned = (params.get("tenant") or "").strip().lower()
    error = (params.get("error") or "")[:100]
    # Entra sends admin_consent=True on errors too: an answer that carries `error` is never a
    # grant, and then `tenant` is often absent (the state already binds the answer to the
    # invited tenant). See docs/microsoft/consent-endpoint.md.
    granted = not error and params.get("admin_consent", "").lower() == "true"
    if granted and not returned:
        _reject(link, ip, "This consent answer does not say which organization consented.", {})
    if returned and returned != invited:
        _reject(
            link,
            ip,
            "Consent came back from another organization than the one this link was made for. "
            "Sign in with an administrator of the invited organization and try again.",
            {"returned_tenant": returned[:64], "invited_tenant": invited},
        )
    if not granted and not error:
        raise CallbackRejected("This consent answer says neither yes nor no.")
    description = (params.get("error_description") or "")[:2000]
    subcode = (params.get("error_subcode") or "")[:100]
    with transaction.atomic():
        link = ConsentLink.objects.select_for_update().select_related("tenant").get(pk=link.pk)
        if not link.state_nonce or not hmac.compare_digest(link.state_nonce, nonce):
            raise CallbackRejected("This consent answer was already used.")
        tenant = CustomerTenant.objects.select_for_update().get(pk=link.tenant_id)
        link.state_nonce = ""
        explanation = None
        if granted:
            link.outcome, link.used_at = ConsentOutcome.GRANTED, timezone.now()
            link.error_code = link.error_subcode = link.error_description = ""
            link.granted_scopes = " ".join((params.get("scope") or "").split())[:1000]
            tenant.verification_level = link.verification_level
            action, event = Action.CONSENT_GRANTED, Event.CONSENT_GRANTED
        else:
            code = aadsts.code_from(error, description)
            explanation = aadsts.explain(code)
            declined = aadsts.is_decline(error=error, code=code, subcode=subcode)
            link.outcome = ConsentOutcome.DECLINED if declined else ConsentOutcome.ERROR
            link.error_code, link.error_subcode = code[:100], subcode
            link.error_description = description
            action = Action.CONSENT_DECLINED if declined else Action.CONSENT_FAILED
            event = Event.CONSENT_DECLINED if declined else Event.CONSENT_FAILED
            # A "no" or a failure on a spare link does not undo an earlier "yes" (the table
            # keeps a consented tenant where it is), so it leaves no finding either.
            if not declined and tenant.status not in lifecycle.CONSENTING:
                ConsentCheck.objects.create(
                    tenant=tenant,
                    trigger=CheckTrigger.CALLBACK,
                    ok=False,
                    findings=[_consent_error_finding(explanation, description)],
                )
        link.save()
        try:
            moved = lifecycle.apply(tenant, event)
        except InvalidTransition as exc:  # rolls the whole answer back
            raise CallbackRejected(f"{exc} Ask {settings.OPERATOR_NAME} for help.") from exc
        tenant.save()
        record_event(
            actor=Actor.customer_admin(tenant_label=str(tenant), ip=ip),
            action=action,
            target=link,
            tenant=tenant,
            details={
                "link": link.pk,
                "outcome": link.outcome,
                "error": error,
                "error_code": link.error_code,
                "error_subcode": subcode,
                "level": link.verification_level,
                "scope": link.granted_scopes,
                "status": moved,
            },
        )
        if granted:
            tenant_pk = tenant.pk
            transaction.on_commit(
                lambda: tasks.enqueue_verification(tenant_pk, CheckTrigger.CALLBACK)
            )
    return CallbackResult(link=link, tenant=tenant, outcome=link.outcome, explanation=explanation)


def _consent_error_finding(explanation: aadsts.Explanation, description: str) -> dict:
    remedy = explanation.remedy + (
        f" Command: {explanation.command}" if explanation.command else ""
    )
    first_line = description.splitlines()[0] if description else explanation.code
    return {
        "check": "admin_consent",
        "ok": False,
        "detail": f"{explanation.title}: {first_line}",
        "remedy": remedy,
    }


# --- user tests -------------------------------------------------------------------------------


def record_user_test(
    *,
    link: ConsentLink,
    ip: str | None = None,
    user_upn: str = "",
    user_oid: str = "",
    signed_in: bool,
    resource: str = "",
    exchanged: bool | None = None,
    ok: bool,
    detail: str,
) -> UserTest:
    """Store the outcome of a customer user's test (never a token) with its audit event."""
    tenant = link.tenant
    with transaction.atomic():
        test = UserTest.objects.create(
            tenant=tenant,
            link=link,
            user_upn=clean_name(user_upn),
            user_oid=clean_name(user_oid, 64),
            signed_in=signed_in,
            resource=clean_name(resource),
            exchanged=exchanged,
            ok=ok,
            detail=detail[:2000],
        )
        record_event(
            actor=Actor.customer_admin(tenant_label=str(tenant), ip=ip),
            action=Action.CONSENT_USER_TESTED,
            target=tenant,
            tenant=tenant,
            details={
                "link": link.pk,
                "user": test.user_upn,
                "signed_in": signed_in,
                "resource": test.resource,
                "exchanged": exchanged,
                "ok": ok,
            },
        )
    return test
