"""Role enforcement for every view.

Each view declares who may read it (safe methods) and who may change things through it
(every other method) with ``@require_role``, or declares itself public with ``@public``.
``tests/test_roles.py`` walks the URL conf and fails for any view that declares neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.models import Role

ALL_ROLES = frozenset(Role.values)
WRITERS = frozenset({Role.ADMIN, Role.OPERATOR})
ADMINS = frozenset({Role.ADMIN})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_role(
    *, read: Iterable[str] = ALL_ROLES, write: Iterable[str] = WRITERS
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Allow safe methods to ``read`` roles and every other method to ``write`` roles.

    Anonymous users are sent to the sign-in page; a signed-in user without the role gets 403
    before the view runs, so nothing changes.
    """
    read_roles, write_roles = frozenset(read), frozenset(write)

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_mfa_setup(request):
                return redirect("mfa_activate_totp")
            safe = request.method in SAFE_METHODS
            allowed = read_roles if safe else write_roles
            if not user.is_active or user.role not in allowed:
                if not safe:
                    record_denied_change(request)
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        wrapped.portal_access = {"read": read_roles, "write": write_roles}
        return wrapped

    return decorator


def record_denied_change(request: HttpRequest, actor=None) -> None:
    """Audit a change the user's role refused: one event per attempt, naming the method, the
    path (never the query string or the body: they may carry tokens or the values tried), the
    view and the role. Nothing else happened, so there is nothing else to record. ``actor``:
    who asked, when the request says more than its user (an API token)."""
    from audit.actions import Action
    from audit.services import Actor, record_event

    match = request.resolver_match
    record_event(
        actor=actor or Actor.from_request(request),
        action=Action.ACCESS_DENIED,
        target_type="page",
        target_label=request.path[:300],
        details={
            "method": request.method,
            "path": request.path,
            "view": match.view_name if match else "",
            "role": getattr(request.user, "role", ""),
        },
    )


def needs_mfa_setup(request: HttpRequest) -> bool:
    """PORTAL_REQUIRE_MFA is on, and this session signed in with a password and no TOTP."""
    if not settings.PORTAL_REQUIRE_MFA:
        return False
    from allauth.account.authentication import get_authentication_records
    from allauth.mfa.utils import is_mfa_enabled

    methods = {record.get("method") for record in get_authentication_records(request)}
    return "socialaccount" not in methods and not is_mfa_enabled(request.user)


def public(view):
    """Mark a view as deliberately reachable without an operator account."""
    view.portal_public = True
    return view
