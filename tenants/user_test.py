""" "Test with a user of {tenant}": proof of consent from the customer's side.

A user of the tenant signs in through the operator app (authorization code + PKCE, scope
``https://communication.azure.com/clients/VoIP``): a token issued with that scope proves the
delegated admin consent. The portal then exchanges the token once at an ACS resource, which
shows whether that user is assigned and, if not, why. The token is used once, never stored,
never logged; only the outcome is kept and audited (``consent.record_user_test``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse

from tenants import graph
from tenants.actions import consent
from tenants.models import ConsentLink, UserTest

TICKET_SALT = "tenants.user-test"
TICKET_MAX_AGE = 24 * 3600  # the result page's offer stays usable for a day

# ACS's refusal codes at /access/entra/:exchangeAccessToken, in plain words (cloudsim/README.md).
EXCHANGE_REFUSALS = {
    "TenantNotConsented": "Azure Communication Services does not see the admin consent yet.",
    "UserNotAssigned": "this user is not assigned to the resource: not directly, not through "
    "a group and not through a tenant-wide assignment. Ask {operator} to add them.",
    "GroupNotAssignedToApplication": "this user is in a group that has access, but your "
    "organization has not assigned that group to the Azure Communication Services Clients "
    "enterprise application (Entra admin center > Enterprise applications).",
    "ClientNotAllowed": "this user is assigned, but not for {operator}'s application.",
    "InvalidScope": "the token lacks the VoIP permission.",
}


def ticket_for(link: ConsentLink) -> str:
    """A signed, short-lived value that lets the result page start a test for this link."""
    return signing.dumps({"l": link.pk}, salt=TICKET_SALT, compress=True)


def link_of_ticket(ticket: str) -> ConsentLink | None:
    try:
        data = signing.loads(ticket or "", salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    pk = data.get("l") if isinstance(data, dict) else None
    if not isinstance(pk, int):
        return None
    return ConsentLink.objects.select_related("tenant").filter(pk=pk).first()


def redirect_uri() -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("tenants:user_test_callback")


def start(link: ConsentLink) -> dict:
    """MSAL's flow for a sign-in of a user of the link's tenant (keep it in the session)."""
    return graph.start_user_sign_in(
        tenant_id=str(link.tenant.tenant_id), redirect_uri=redirect_uri()
    )


def _first_resource():
    from assignments.models import AcsResource

    return AcsResource.objects.filter(enabled=True).order_by("name").first()


def finish(
    *, link: ConsentLink, flow: dict, response: dict[str, str], ip: str | None = None
) -> UserTest:
    """Redeem the sign-in, exchange its token once at ACS, record the outcome."""
    from assignments import acs

    operator = settings.OPERATOR_NAME
    tenant = link.tenant
    try:
        sign_in = graph.finish_user_sign_in(
            tenant_id=str(tenant.tenant_id), flow=flow, response=response
        )
    except graph.GraphError as error:
        return consent.record_user_test(
            link=link,
            ip=ip,
            signed_in=False,
            ok=False,
            detail=f"Microsoft did not sign the user in: {error.message} (code {error.code}).",
        )
    who = sign_in.upn or sign_in.oid
    common: dict[str, Any] = {
        "link": link,
        "ip": ip,
        "user_upn": sign_in.upn,
        "user_oid": sign_in.oid,
    }
    if sign_in.tid.lower() != str(tenant.tenant_id) or "VoIP" not in {
        s.rpartition("/")[2] for s in sign_in.scopes
    }:
        return consent.record_user_test(
            **common,
            signed_in=False,
            ok=False,
            detail=f"{who} signed in, but not as a user of {tenant} with the VoIP permission.",
        )
    proved = f"Microsoft issued {who} a token with the VoIP permission: the admin consent works."
    resource = _first_resource()
    if resource is None:
        return consent.record_user_test(
            **common,
            signed_in=True,
            ok=True,
            detail=f"{proved} {operator} has no Azure Communication Services resource set up "
            "yet, so no token exchange was tried.",
        )
    try:
        with acs.client_for(resource, max_attempts=1) as client:
            client.exchange_user_token(sign_in.token)
    except acs.AcsError as error:
        why = EXCHANGE_REFUSALS.get(error.code, f"it answered: {error.message}")
        return consent.record_user_test(
            **common,
            signed_in=True,
            resource=resource.name,
            exchanged=False,
            ok=False,
            detail=f"{proved} But {resource.name} refused to give {who} an Azure Communication "
            f"Services token: {why.format(operator=operator)}",
        )
    return consent.record_user_test(
        **common,
        signed_in=True,
        resource=resource.name,
        exchanged=True,
        ok=True,
        detail=f"{proved} {resource.name} gave {who} an Azure Communication Services token: "
        "this user can call.",
    )
