"""Who calls the API, and what their role lets them do: the pages' rules (portal/roles.py).

A token acts with its owner's role at the moment of use, narrowed by its scope: a read token,
or any token of an auditor, gets 403 on every write before the view runs, so nothing changes.
A signed-in session works too (the browsable docs), with CSRF as on the pages.
"""

from __future__ import annotations

from rest_framework import authentication, permissions
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied

from api import tokens
from api.models import ApiToken
from audit.services import Actor, client_ip
from portal.roles import ALL_ROLES, SAFE_METHODS, WRITERS, needs_mfa_setup, record_denied_change


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer acsp_...``. A bad token is a 401, never a fall-back to anonymous."""

    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Give one token after 'Bearer'.")
        token = tokens.find_token(header[1])
        if token is None:
            raise AuthenticationFailed(
                "The API token is unknown, revoked or expired, or its owner was deactivated."
            )
        tokens.mark_used(token, client_ip(request))
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The portal's session, CSRF enforced on writes, and MFA set up when the portal asks for it."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and needs_mfa_setup(request._request):
            raise PermissionDenied("Set up two-factor authentication on the portal first.")
        return result


def token_of(request) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def actor(request) -> Actor:
    """The audit actor of an API request: its token's owner (naming the token) or the user."""
    token = token_of(request)
    if token is not None:
        return Actor.api(request.user, api_token=token, ip=client_ip(request))
    return Actor.from_request(request)


class RolePermission(permissions.BasePermission):
    """Safe methods for the view's ``read_roles``, every other one for its ``write_roles``
    (default: every role reads, admins and operators write), and a token's scope on top."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        read = getattr(view, "read_roles", ALL_ROLES)
        write = getattr(view, "write_roles", WRITERS)
        if request.method in SAFE_METHODS:
            return user.is_active and user.role in read
        token = token_of(request)
        if token is not None and not token.can_write:
            self.message = "This token is read-only."
            record_denied_change(request, actor=actor(request))
            return False
        if user.is_active and user.role in write:
            return True
        record_denied_change(request, actor=actor(request))
        return False


class SignedIn(permissions.BasePermission):
    """Any active operator reads (the schema and docs); nobody changes anything there."""

    message = "The API document is read-only."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if request.method in SAFE_METHODS:
            return True
        record_denied_change(request, actor=actor(request))
        return False
