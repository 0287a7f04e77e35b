"""Every view declares who may use it; an auditor can read but never change anything.

The test walks the URL conf, so a new view without ``@require_role`` or ``@public`` fails here.
"""

from __future__ import annotations

import uuid

import pytest
from allauth.account.models import EmailAddress
from django.urls import URLPattern, resolve, reverse

from audit.actions import Action
from audit.models import AuditEvent
from portal.models import Role, User
from tests.support.urlconf import converter_kinds, fill, walk

SAMPLE = {
    "int": "1",
    "id": "1",
    "uuid": str(uuid.UUID(int=1)),
    "str": "x",
    "slug": "x",
    "path": "x",
}


def _portal_views():
    seen = []
    for route, pattern in walk():
        module = getattr(pattern.callback, "__module__", "")
        if module.startswith(("allauth.", "django.")):
            continue  # allauth's own views: see ALLAUTH_* below
        seen.append(pytest.param(route, pattern, id=route or "/"))
    return seen


def _url(route: str, pattern: URLPattern) -> str:
    kinds = converter_kinds(route, pattern)
    return fill(route, pattern, {name: SAMPLE.get(kind, "1") for name, kind in kinds.items()})


VIEWS = _portal_views()


def test_url_conf_has_portal_views():
    assert len(VIEWS) >= 3


@pytest.mark.parametrize(("route", "pattern"), VIEWS)
def test_every_view_declares_access(route, pattern):
    callback = pattern.callback
    assert getattr(callback, "portal_public", False) or hasattr(callback, "portal_access"), (
        f"{route} ({callback.__module__}.{callback.__name__}) needs @require_role or @public"
    )


def _protected():
    return [p for p in VIEWS if hasattr(p.values[1].callback, "portal_access")]


def _is_api(pattern: URLPattern) -> bool:
    """An operation of the REST API (api/), which answers 401 where pages send to sign in."""
    # The docs page (api:docs) is a page: it sends to sign in.
    return getattr(pattern.callback, "cls", None) is not None and pattern.name != "docs"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), _protected())
def test_anonymous_is_sent_to_sign_in(client, route, pattern):
    response = client.get(_url(route, pattern))
    if _is_api(pattern):
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        return
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _changes() -> tuple[int, int, int]:
    """(events other than refusals, users, refusals recorded)."""
    denied = AuditEvent.objects.filter(action="access.denied").count()
    return AuditEvent.objects.count() - denied, User.objects.count(), denied


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), _protected())
def test_roles_are_enforced(client, make_user, route, pattern):
    access = pattern.callback.portal_access
    url = _url(route, pattern)
    for role in Role.values:
        user = make_user(f"{role}@contoso.example", role)
        client.force_login(user)
        get = client.get(url)
        # Taken after the GET: some reads are audited themselves (audit exports).
        before = _changes()
        if role in access["read"]:
            assert get.status_code != 403, f"{role} should read {url}"
        else:
            assert get.status_code == 403, f"{role} must not read {url}"
        post = client.post(url, {"role": Role.ADMIN, "user_id": user.pk, "email": "x@y.example"})
        if role not in access["write"]:
            assert post.status_code == 403, f"{role} must not change anything through {url}"
            # Nothing changed; the refused attempt itself is on the record, once.
            assert _changes() == (before[0], before[1], before[2] + 1)
        client.logout()


def test_auditor_can_never_write():
    for _route, pattern in (p.values for p in _protected()):
        assert Role.AUDITOR not in pattern.callback.portal_access["write"]


def _api_routes():
    return [p for p in _protected() if _is_api(p.values[1])]


def test_the_walk_covers_the_api():
    assert len(_api_routes()) >= 15


WRITES = ("post", "put", "patch", "delete")


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), _api_routes())
def test_api_tokens_get_exactly_their_roles_access(make_user, route, pattern):
    """Through a token, each role reads what its pages let it read, and a read-only role or a
    read token gets 403 on every write, before the view runs: nothing changes."""
    from rest_framework.test import APIClient

    from api import tokens
    from api.models import ApiToken, Scope
    from audit.services import Actor
    from tenants.models import CustomerTenant

    access = pattern.callback.portal_access
    url = _url(route, pattern)
    admin = make_user("issuer@contoso.example", Role.ADMIN)
    CustomerTenant.objects.create(tenant_id=uuid.UUID(int=1), display_name="One")
    for role in Role.values:
        user = admin if role == Role.ADMIN else make_user(f"{role}@contoso.example", role)
        for scope in tokens.allowed_scopes(user):
            secret = tokens.issue_token(
                actor=Actor.operator(admin), owner=user, name=f"{role} {scope}", scope=scope
            ).secret
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
            get = api.get(url)
            if role in access["read"]:
                assert get.status_code != 403, f"{role} should read {url}"
            else:
                assert get.status_code == 403, f"{role} must not read {url}"
            may_write = role in access["write"] and scope == Scope.WRITE
            for method in WRITES:
                before = (
                    AuditEvent.objects.count(),
                    CustomerTenant.objects.count(),
                    ApiToken.objects.filter(revoked_at=None).count(),
                )
                response = getattr(api, method)(url, {"tenant": str(uuid.uuid4())}, format="json")
                if not may_write:
                    assert response.status_code == 403, f"{role}/{scope} {method} {url}"
                    assert response["Content-Type"] == "application/problem+json"
                    after = (
                        AuditEvent.objects.count() - 1,
                        CustomerTenant.objects.count(),
                        ApiToken.objects.filter(revoked_at=None).count(),
                    )
                    assert after == before, f"{role}/{scope} {method} {url} changed something"
                    # The refusal itself is the one new event, attributed to the token.
                    denied = AuditEvent.objects.order_by("-id").first()
                    assert denied.action == Action.ACCESS_DENIED
                    assert denied.details["method"] == method.upper()
                    assert denied.details["api_access"]["name"] == f"{role} {scope}"


# allauth's views carry their own checks; each of its routes is named here, so an allauth
# upgrade that adds one fails the walk until someone decides who may reach it.
ALLAUTH_OPEN = {
    "account_login", "account_logout", "account_inactive", "account_signup",
    "account_email_verification_sent", "account_reset_password", "account_confirm_login_code",
    "account_confirm_email", "account_reset_password_from_key_done",
    "account_reset_password_from_key", "account_reset_password_done", "mfa_authenticate",
    "socialaccount_login_cancelled", "socialaccount_login_error", "socialaccount_signup",
    "microsoft_login", "microsoft_callback", None,
}  # fmt: skip
# allauth's routes that portal/urls.py answers first with a view of its own.
SHADOWED = {"account_email"}
ALLAUTH_SIGNED_IN = {
    "account_reauthenticate", "account_change_password", "account_set_password", "mfa_index",
    "mfa_reauthenticate", "mfa_activate_totp", "mfa_deactivate_totp",
    "mfa_view_recovery_codes", "mfa_generate_recovery_codes", "mfa_download_recovery_codes",
    "socialaccount_connections",
}  # fmt: skip


def _allauth_views():
    return [
        pytest.param(route, pattern, id=route)
        for route, pattern in walk()
        if getattr(pattern.callback, "__module__", "").startswith("allauth.")
    ]


@pytest.mark.parametrize(("route", "pattern"), _allauth_views())
def test_every_allauth_route_is_classified(route, pattern):
    assert pattern.name in ALLAUTH_OPEN | ALLAUTH_SIGNED_IN | SHADOWED, f"who may reach {route}?"


@pytest.mark.parametrize("name", sorted(SHADOWED))
def test_shadowed_allauth_routes_reach_the_portals_view(name):
    match = resolve(reverse(name))
    assert hasattr(match.func, "portal_access"), f"{name} must be answered by a portal view"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "pattern"), [p for p in _allauth_views() if p.values[1].name in ALLAUTH_SIGNED_IN]
)
def test_allauth_account_pages_need_a_sign_in(client, route, pattern):
    response = client.get(_url(route, pattern))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "pattern"),
    # Microsoft sign-in needs cloudsim: tests/integration/test_microsoft_sign_in.py.
    [p for p in _allauth_views() if not (p.values[1].name or "").startswith("microsoft_")],
)
def test_no_allauth_page_changes_an_auditors_sign_in_address(client, make_user, route, pattern):
    auditor = make_user("aiko@contoso.example", Role.AUDITOR)
    client.force_login(auditor)
    for action in ("action_add", "action_primary", ""):
        client.post(_url(route, pattern), {action or "x": "", "email": "aiko@evil.example"})
    auditor.refresh_from_db()
    assert auditor.email == "aiko@contoso.example"
    assert not EmailAddress.objects.filter(email="aiko@evil.example").exists()
