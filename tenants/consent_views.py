"""Public pages for the customer admin: the consent landing page and Microsoft's callback.

No portal account is needed, so these pages reveal nothing beyond the link's own tenant,
never put the token in logs (the path holds it), are rate limited per client address, and
answer every malformed request with a clear page instead of an error.

They speak the admin's language: each page is rendered in the best match of the browser's
Accept-Language among ``settings.LANGUAGES`` (``_page``). Only the rendering is translated, per
view rather than by ``LocaleMiddleware`` for the whole site: the services these views call, the
audit log, the findings and every operator page stay in English.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from audit.services import client_ip
from portal.roles import public
from tenants import aadsts, graph, link_requests, ratelimit, user_test
from tenants.actions import consent
from tenants.models import ConsentLink, ConsentOutcome, VerificationLevel

logger = logging.getLogger(__name__)

UNAVAILABLE = {
    "unknown": _(
        "This consent link is not valid. Check that you copied all of it, or ask for a new one."
    ),
    "expired": _("This consent link has expired. Ask for a new one."),
    "revoked": _("This consent link was withdrawn. Ask for a new one."),
    "used": _("Consent was already given through this link. Nothing more to do."),
}
# The refusals ``consent.record_consent_callback`` raises, so that the page shows them in the
# admin's language (an unlisted one is shown as raised, in English).
REFUSALS = (
    gettext_noop("This consent answer has no valid state."),
    gettext_noop("This consent answer is not one the portal sent out."),
    gettext_noop("This consent answer arrived too late. Open the consent link again."),
    gettext_noop("This consent answer was already used (or replaced by a newer one)."),
    gettext_noop("This consent answer was already used."),
    gettext_noop("This consent answer does not say which organization consented."),
    gettext_noop("This consent answer says neither yes nor no."),
)


def _language(request) -> str:
    """The best of ``settings.LANGUAGES`` for the browser's Accept-Language (English if none)."""
    return translation.get_language_from_request(request)


def _page(request, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    """Render a customer-admin page in the admin's language; the answer says which it is."""
    language = _language(request)
    with translation.override(language):
        response = render(request, template, context, status=status)
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language",))
    return response


def _quiet(response: HttpResponse) -> HttpResponse:
    """Keep Django from logging the request path (it holds the token) for 4xx answers."""
    # Django's private flag, read by django.utils.log.log_response; absent from django-stubs.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _limited(request, scope: str) -> HttpResponse | None:
    if ratelimit.allow(scope=scope, ident=client_ip(request) or "-"):
        return None
    response = _page(
        request,
        "tenants/consent_refused.html",
        {
            "title": _("Too many requests"),
            "message": _("Please wait a minute and try again."),
            "nothing_changed": True,
        },
        status=429,
    )
    response["Retry-After"] = "60"
    return _quiet(response)


def _consent_scopes() -> list[tuple[str, str | Promise]]:
    return [
        (
            "VoIP",
            _(
                "Lets your users make and receive calls with Azure Communication Services "
                "using their work account (Teams Phone extensibility / VoIP)."
            ),
        ),
        (
            "VoIP.Join",
            _(
                "Lets your users join Teams meetings and calls through Azure "
                "Communication Services as themselves."
            ),
        ),
    ]


# What a deep link adds: Microsoft Graph read application permissions (docs/microsoft/graph.md).
GRAPH_PERMISSIONS = [
    (
        "Application.Read.All",
        _(
            "Read the enterprise applications of your organization, to check that the app, "
            "Azure Communication Services Clients and the consent are in place."
        ),
    ),
    (
        "DelegatedPermissionGrant.Read.All",
        _("Read which delegated permissions were granted, to check the VoIP consent."),
    ),
    ("Organization.Read.All", _("Read your organization's name and verified domains.")),
    (
        "Group.Read.All",
        _(
            "Read the groups given access, and whether they are assigned to Azure "
            "Communication Services Clients."
        ),
    ),
    ("User.Read.All", _("Read the users given access (name and sign-in name).")),
]
# Microsoft's role names, as Microsoft localizes them.
ROLES_BY_LEVEL = {
    VerificationLevel.STANDARD: _(
        "a Global Administrator, an Application Administrator or a Cloud Application Administrator"
    ),
    VerificationLevel.DEEP: _(
        "a Global Administrator or a Privileged Role Administrator (an Application or Cloud "
        "Application Administrator cannot grant Microsoft Graph application permissions)"
    ),
}


def _help(link: ConsentLink | None = None, reason: str = "") -> dict[str, Any]:
    """What a dead end offers: the operator's contact, and a "Request a new link" button."""
    return {
        "operator": settings.OPERATOR_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "support_url": settings.PORTAL_SUPPORT_URL,
        "request_ref": link_requests.ref_for(link, reason) if link else "",
    }


def _unavailable(request, token: str, reason: str) -> HttpResponse:
    link = None
    if reason in ("expired", "revoked"):
        link = consent.find_link(token)
    return _quiet(
        _page(
            request,
            "tenants/consent_unavailable.html",
            {"reason": reason, "message": UNAVAILABLE[reason], **_help(link, reason)},
            status=200 if reason == "used" else 410,
        )
    )


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
        return _unavailable(request, token, unavailable.reason)
    return _page(
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


def _link_of_state(params: dict[str, str]) -> ConsentLink | None:
    """The link a genuine ``state`` names (None when it names none)."""
    try:
        link_pk, _nonce = consent.read_state(params.get("state") or "")
    except consent.CallbackRejected:
        return None
    return ConsentLink.objects.select_related("tenant").filter(pk=link_pk).first()


def _refused_callback(request, params: dict[str, str], message: str) -> HttpResponse:
    """The refusal page; it says what Microsoft did when the answer was a consent elsewhere.

    An answer from another organization than the invited one is refused by the portal, but if
    it says ``admin_consent=True`` Microsoft has already recorded that consent in the other
    organization: the page says so, how to remove it there, and how to consent for the right
    one (never "nothing was changed").
    """
    link = _link_of_state(params)
    returned = (params.get("tenant") or "").strip().lower()[:64]
    context: dict[str, Any] = {
        "title": _("This consent answer was refused"),
        "message": gettext(message) if message in REFUSALS else message,
        "nothing_changed": True,
    }
    if link is not None and returned and returned != str(link.tenant.tenant_id):
        consented = not params.get("error") and params.get("admin_consent", "").lower() == "true"
        context.update(
            {
                "title": _("Consent came back from another organization"),
                "other_tenant": returned,
                "consented_elsewhere": consented,
                "nothing_changed": not consented,
                "invited_name": link.tenant.display_name or link.tenant.primary_domain,
                "invited_tenant": str(link.tenant.tenant_id),
                "app_id": settings.ENTRA_CLIENT_ID,
                **_help(link, "other_tenant"),
            }
        )
    elif link is not None and link.unavailable_reason in ("expired", "revoked"):
        context.update(
            {
                "message": UNAVAILABLE[link.unavailable_reason],
                **_help(link, link.unavailable_reason),
            }
        )
    else:
        context.update(_help())
    return _quiet(_page(request, "tenants/consent_refused.html", context, status=400))


# Failures the admin fixes on their side and then opens the same link again: no new link needed.
SAME_LINK_AGAIN = {"AADSTS650052", "AADSTS50020", "AADSTS50034", "AADSTS90008"}


def _operator_must_act(result: consent.CallbackResult) -> bool:
    """A failed consent whose remedy is the operator's (a new or another link, their app)."""
    if result.outcome != ConsentOutcome.ERROR or result.explanation is None:
        return False
    return result.explanation.code not in SAME_LINK_AGAIN


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
        return _refused_callback(request, params, str(rejected))
    granted = result.outcome == ConsentOutcome.GRANTED
    declined = result.outcome == ConsentOutcome.DECLINED
    explanation = None
    if result.explanation is not None:
        # Explained again in the admin's language (the service recorded it in English).
        with translation.override(_language(request)):
            explanation = aadsts.explain(result.explanation.code)
    return _page(
        request,
        "tenants/consent_result.html",
        {
            "result": result,
            "replayed": result.replayed,
            "granted": granted,
            "declined": declined,
            "explanation": explanation,
            "operator": settings.OPERATOR_NAME,
            "tenant_name": result.tenant.display_name or result.tenant.primary_domain,
            "test_ticket": user_test.ticket_for(result.link) if granted else "",
            **(_help(result.link, "failed") if _operator_must_act(result) else _help()),
        },
    )


@public
@never_cache
@require_http_methods(["POST"])
def request_link(request):
    """ "Request a new link": notify the operator (at most once per link and window)."""
    limited = _limited(request, "link-request-ip")
    if limited:
        return limited
    found = link_requests.read_ref(request.POST.get("ref", ""))
    if found is None:
        return _refused(
            request,
            _(
                "The request does not come from a page of this portal, or that page is too "
                "old. Open the consent link you received again."
            ),
            title=_("This request could not be sent"),
        )
    link, reason = found
    sent = link_requests.request_new_link(link=link, reason=reason, ip=client_ip(request))
    return _page(
        request,
        "tenants/consent_requested.html",
        {"sent": sent, "window_minutes": settings.CONSENT_LINK_REQUEST_WINDOW // 60, **_help()},
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
            _(
                "This test offer is not valid any more. Open the consent link again, or ask "
                "for a new one."
            ),
        )
    try:
        flow = user_test.start(link)
    except graph.GraphError as error:
        return _refused(
            request,
            format_lazy("{} {}", _("Microsoft could not be asked right now:"), error.message),
        )
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
            _(
                "This sign-in answer does not belong to a test started here. Start the test "
                "again from the consent result page."
            ),
        )
    params = {key: request.GET.get(key, "")[:4000] for key in request.GET}
    test = user_test.finish(link=link, flow=pending["flow"], response=params, ip=client_ip(request))
    return _page(
        request,
        "tenants/user_test_result.html",
        {"test": test, "tenant_name": str(link.tenant), "operator": settings.OPERATOR_NAME},
    )


def _refused(request, message: str | Promise, title: str | Promise = "") -> HttpResponse:
    """A refusal that changed nothing (a user test by default), with the operator's contact."""
    return _quiet(
        _page(
            request,
            "tenants/consent_refused.html",
            {
                "title": title or _("The user test could not run"),
                "message": message,
                "nothing_changed": True,
                **_help(),
            },
            status=400,
        )
    )
