"""django-allauth adapters: closed sign-up, Microsoft sign-in restricted to the home tenant."""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse

from audit.actions import Action
from audit.models import ActorType
from audit.services import Actor, client_ip, record_event
from portal.models import Role, User

logger = logging.getLogger(__name__)


def absolute_url(path: str) -> str:
    """``path`` on the portal's public URL: never built from the request's Host header."""
    return settings.PORTAL_BASE_URL.rstrip("/") + path


class PortalSite:
    """What allauth's mails call ``current_site``: the portal, not whatever Host was sent."""

    def __init__(self) -> None:
        self.name = settings.PORTAL_NAME
        self.domain = urlsplit(settings.PORTAL_BASE_URL).netloc


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.ACCOUNT_SIGNUP_OPEN

    # allauth builds these from request.build_absolute_uri (the Host header) without Sites.
    def get_reset_password_from_key_url(self, key: str) -> str:
        return absolute_url(urlsplit(super().get_reset_password_from_key_url(key)).path)

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return absolute_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # allauth's reads the site from the request; mails sent after commit may have none.
        ctx = {"request": allauth_context.request, "email": email, **context}
        self.render_mail(template_prefix, email, {**ctx, "current_site": PortalSite()}).send()

    def format_email_subject(self, subject: str) -> str:
        return f"[{settings.PORTAL_NAME}] {subject}"

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys the failed-sign-in limit (ACCOUNT_RATE_LIMITS["login_failed"], "…/key")
        # by the login alone, so five wrong guesses locked the account for everyone. Keyed by
        # login and client address, the guesser is locked out and the owner elsewhere is not;
        # the per-address part of the rate ("…/ip") still slows one address trying many logins.
        # The same key serves allauth's rollback on success and its reset after a new password.
        return (
            f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_ip(request)}"
        )

    def pre_authenticate(self, request, **credentials) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            login = str(credentials.get("email") or credentials.get("username") or "")[:254]
            record_event(
                actor=Actor(
                    type=ActorType.OPERATOR, label=login or "unknown", ip=client_ip(request)
                ),
                action=Action.OPERATOR_SIGN_IN_LOCKED,
                target_type="user",
                target_label=login,
            )
            raise


def _refuse(request, *, reason: str, tenant_id: str = "", who: str = "") -> None:
    logger.warning("Microsoft sign-in refused: %s (tenant %s)", reason, tenant_id or "unknown")
    record_event(
        actor=Actor(type=ActorType.OPERATOR, label=who or "unknown", ip=client_ip(request)),
        action=Action.OPERATOR_SIGN_IN_REFUSED,
        target_type="user",
        target_label=who,
        details={"tenant_id": tenant_id, "reason": reason},
    )
    response = render(
        request,
        "account/microsoft_refused.html",
        {"reason": reason, "tenant_id": tenant_id},
        status=403,
    )
    raise ImmediateHttpResponse(response)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_requests_session(self):
        session = super().get_requests_session()
        if settings.MICROSOFT_CA_BUNDLE:
            # Per request, not session.verify: requests lets REQUESTS_CA_BUNDLE override that.
            session.request = functools.partial(
                session.request, verify=settings.MICROSOFT_CA_BUNDLE
            )
        return session

    def pre_social_login(self, request, sociallogin) -> None:
        """Only users of the operator's home tenant get in, and only if invited (or provisioned)."""
        tenant_id = (sociallogin.account.extra_data or {}).get("tid", "")
        email = _microsoft_email(sociallogin.account.extra_data)
        home = settings.ENTRA_HOME_TENANT_ID.lower()
        if not home or tenant_id.lower() != home:
            _refuse(
                request,
                reason="Your Microsoft account belongs to another organization than the "
                "operator's. Only the operator's own staff can sign in here.",
                tenant_id=tenant_id,
                who=email,
            )
        if sociallogin.is_existing:
            return
        user = User.objects.filter(email=email).first() if email else None
        if user is not None:
            if not user.is_active:
                _refuse(
                    request,
                    reason="Your portal account is disabled.",
                    tenant_id=tenant_id,
                    who=email,
                )
            sociallogin.connect(request, user)
        elif not settings.ENTRA_AUTO_PROVISION_ROLE:
            _refuse(
                request,
                reason="You have no portal account yet. Ask a portal admin to invite "
                f"{email or 'your address'}.",
                tenant_id=tenant_id,
                who=email,
            )

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return bool(settings.ENTRA_AUTO_PROVISION_ROLE)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.email = _microsoft_email(sociallogin.account.extra_data) or user.email
        user.display_name = sociallogin.account.extra_data.get("displayName", "")
        role = settings.ENTRA_AUTO_PROVISION_ROLE
        user.role = role if role in Role.values else Role.AUDITOR
        return user


def _microsoft_email(extra_data: dict) -> str:
    return (extra_data.get("mail") or extra_data.get("userPrincipalName") or "").lower()


@functools.cache
def _jwks_client(jwks_uri: str):
    import jwt

    from portal.external import tls_context

    return jwt.PyJWKClient(jwks_uri, cache_keys=True, ssl_context=tls_context())


def tenant_of_id_token(id_token: str) -> str:
    """Validate the id token from the home tenant's token endpoint and return its ``tid``.

    The signature is checked against the home tenant's published keys, the audience against
    our client id and the issuer against the authority host, so a token minted for another app or
    by another issuer cannot pass.
    """
    import jwt

    home = settings.ENTRA_HOME_TENANT_ID
    jwks = _jwks_client(f"{settings.ENTRA_AUTHORITY_HOST}/{home}/discovery/v2.0/keys")
    key = jwks.get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience=settings.ENTRA_CLIENT_ID,
        options={"require": ["exp", "iss", "aud", "tid"]},
        leeway=120,
    )
    tid = claims["tid"]
    if claims["iss"] != f"{settings.ENTRA_AUTHORITY_HOST}/{tid}/v2.0":
        raise jwt.InvalidIssuerError("unexpected issuer")
    return tid
