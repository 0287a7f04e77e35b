"""Public pages for the customer admin: the consent landing page and Microsoft's callback.

No portal account is needed, so these pages reveal nothing beyond the link's own tenant,
never put the token in logs (the path holds it), are rate limited per client address, and
answer every malformed request with a clear page instead of an error.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from audit.services import client_ip
from portal.roles import public
from tenants import aadsts, graph, ratelimit, user_test
from tenants.actions import consent
from tenants.models import ConsentLink, ConsentOutcome, VerificationLevel

logger = logging.getLogger(__name__)

UNAVAILABLE = {
    "unknown": "This consent link is not valid. Check that you copied all of it, or ask for a "
    "new one.",
    "expired": "This consent link has expired. Ask for a new one.",
    "revoked": "This consent link was withdrawn. Ask for a new one.",
    "used": "Consent was already given through this link. Nothing more to do.",
}


def _quiet(response: HttpResponse) -> HttpResponse:
    """Keep Django from logging the request path (it holds the token) for 4xx answers."""
    response._has_been_logged = True
    return response


def _limited(request, scope: str) -> HttpResponse | None:
    if ratelimit.allow(scope=scope, ident=client_ip(request) or "-"):
        return None
    response = render(
        request,
        "tenants/consent_refused.html",
        {"title": "Too many requests", "message": "Please wait a minute and try again."},
        status=429,
    )
    response["Retry-After"] = "60"
    return _quiet(response)


def _consent_scopes() -> list[tuple[str, str]]:
    return [
        (
            "VoIP",
            "Lets your users make and receive calls with Azure Communication Services "
            "using their work account (Teams Phone extensibility / VoIP).",
        ),
        (
            "VoIP.Join",
            "Lets your users join Teams meetings and calls through Azure "
            "Communication Services as themselves.",
        ),
    ]


# What a deep link adds: Microsoft Graph read application permissions (docs/microsoft/graph.md).
GRAPH_PERMISSIONS = [
    (
        "Application.Read.All",
        "Read the enterprise applications of your organization, to check that the app, Azure "
        "Communication Services Clients and the consent are in place.",
    ),
    (
        "DelegatedPermissionGrant.Read.All",
        "Read which delegated permissions were granted, to check the VoIP consent.",
    ),
    ("Organization.Read.All", "Read your organization's name and verified domains."),
    (
        "Group.Read.All",
        "Read the groups given access, and whether they are assigned to Azure Communication "
        "Services Clients.",
    ),
    ("User.Read.All", "Read the users given access (name and sign-in name)."),
]
ROLES_BY_LEVEL = {
    VerificationLevel.STANDARD: "a Global Administrator, an Application Administrator or a "
    "Cloud Application Administrator",
    VerificationLevel.DEEP: "a Global Administrator or a Privileged Role Administrator (an "
    "Application or Cloud Application Administrator cannot grant Microsoft Graph application "
    "permissions)",
}


@public
@never_cache
@require_http_methods(["GET", "POST"])
def consent_landing(request, token: str):
    limited = _limited(request, "landing")
    if limited:
        return limited
    ip = client_ip(request)
    try:
        if request.method == "POST":
            return HttpResponseRedirect(consent.start_admin_consent(token=token, ip=ip))
        link = consent.open_consent_link(token=token, ip=ip)
    except consent.LinkUnavailable as unavailable:
        return _quiet(
            render(
                request,
                "tenants/consent_unavailable.html",
                {"reason": unavailable.reason, "message": UNAVAILABLE[unavailable.reason]},
                status=200 if unavailable.reason == "used" else 410,
            )
        )
    return render(
        request,
        "tenants/consent_landing.html",
        {
            "link": link,
            "tenant": link.tenant,
            "operator": settings.OPERATOR_NAME,
            "app_id": settings.ENTRA_CLIENT_ID,
            "scopes": _consent_scopes(),
            "deep": link.verification_level == VerificationLevel.DEEP,
            "graph_permissions": GRAPH_PERMISSIONS,
            "roles": ROLES_BY_LEVEL[link.verification_level],
            "acs_command": aadsts.ACS_CLIENTS_SP_COMMAND,
        },
    )


@public
@never_cache
@require_http_methods(["GET"])
def consent_callback(request):
    limited = _limited(request, "callback")
    if limited:
        return limited
    params = {key: request.GET.get(key, "") for key in request.GET}
    try:
        result = consent.record_consent_callback(params=params, ip=client_ip(request))
    except consent.CallbackRejected as rejected:
        logger.info("Consent callback refused: %s", rejected)
        return _quiet(
            render(
                request,
                "tenants/consent_refused.html",
                {"title": "This consent answer was refused", "message": str(rejected)},
                status=400,
            )
        )
    return render(
        request,
        "tenants/consent_result.html",
        {
            "result": result,
            "replayed": result.replayed,
            "granted": result.outcome == ConsentOutcome.GRANTED,
            "declined": result.outcome == ConsentOutcome.DECLINED,
            "explanation": result.explanation,
            "operator": settings.OPERATOR_NAME,
            "tenant_name": result.tenant.display_name or result.tenant.primary_domain,
            "test_ticket": user_test.ticket_for(result.link)
            if result.outcome == ConsentOutcome.GRANTED
            else "",
        },
    )


SESSION_KEY = "tenants.user_test"


@public
@never_cache
@require_http_methods(["POST"])
def user_test_start(request):
    """The result page's "Test with a user": start the user's sign-in at Microsoft."""
    limited = _limited(request, "user-test")
    if limited:
        return limited
    link = user_test.link_of_ticket(request.POST.get("ticket", ""))
    if link is None or link.outcome != ConsentOutcome.GRANTED:
        return _refused(
            request,
            "This test offer is not valid any more. Open the consent link "
            "again, or ask for a new one.",
        )
    try:
        flow = user_test.start(link)
    except graph.GraphError as error:
        return _refused(request, f"Microsoft could not be asked right now: {error.message}")
    request.session[SESSION_KEY] = {"link": link.pk, "flow": flow}
    return HttpResponseRedirect(flow["auth_uri"])


@public
@never_cache
@require_http_methods(["GET"])
def user_test_callback(request):
    """Microsoft sends the user back here: redeem the code once, exchange once, show the outcome."""
    limited = _limited(request, "user-test")
    if limited:
        return limited
    pending = request.session.pop(SESSION_KEY, None)  # single use, whatever happens next
    link = None
    if isinstance(pending, dict) and isinstance(pending.get("flow"), dict):
        link = ConsentLink.objects.select_related("tenant").filter(pk=pending.get("link")).first()
    if link is None:
        return _refused(
            request,
            "This sign-in answer does not belong to a test started here. "
            "Start the test again from the consent result page.",
        )
    params = {key: request.GET.get(key, "")[:4000] for key in request.GET}
    test = user_test.finish(link=link, flow=pending["flow"], response=params, ip=client_ip(request))
    return render(
        request,
        "tenants/user_test_result.html",
        {"test": test, "tenant_name": str(link.tenant), "operator": settings.OPERATOR_NAME},
    )


def _refused(request, message: str) -> HttpResponse:
    return _quiet(
        render(
            request,
            "tenants/consent_refused.html",
            {"title": "The user test could not run", "message": message},
            status=400,
        )
    )
