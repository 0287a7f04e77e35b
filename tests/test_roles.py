"""Every view declares who may use it; an auditor can read but never change anything.

The test walks the URL conf, so a new view without ``@require_role`` or ``@public`` fails here.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditEvent
from portal.models import Role, User

SAMPLE = {
    "int": "1",
    "id": "1",
    "uuid": str(uuid.UUID(int=1)),
    "str": "x",
    "slug": "x",
    "path": "x",
}


def _walk(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _portal_views():
    seen = []
    for route, pattern in _walk(get_resolver()):
        module = getattr(pattern.callback, "__module__", "")
        if module.startswith(("allauth.", "django.")):
            continue  # allauth's own views carry their own login checks
        seen.append(pytest.param(route, pattern, id=route or "/"))
    return seen


def _url(route: str, pattern: URLPattern) -> str:
    converters = getattr(pattern.pattern, "converters", {})
    url = route
    for name, converter in converters.items():
        kind = type(converter).__name__.removesuffix("Converter").lower()
        sample = SAMPLE.get(kind, "1")
        url = url.replace(f"<{kind}:{name}>", sample).replace(f"<{name}>", sample)
    return "/" + url.lstrip("^").rstrip("$")


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


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "pattern"), _protected())
def test_anonymous_is_sent_to_sign_in(client, route, pattern):
    response = client.get(_url(route, pattern))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


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
        before = AuditEvent.objects.count(), User.objects.count()
        if role in access["read"]:
            assert get.status_code != 403, f"{role} should read {url}"
        else:
            assert get.status_code == 403, f"{role} must not read {url}"
        post = client.post(url, {"role": Role.ADMIN, "user_id": user.pk, "email": "x@y.example"})
        if role not in access["write"]:
            assert post.status_code == 403, f"{role} must not change anything through {url}"
            assert (AuditEvent.objects.count(), User.objects.count()) == before
        client.logout()


def test_auditor_can_never_write():
    for _route, pattern in (p.values for p in _protected()):
        assert Role.AUDITOR not in pattern.callback.portal_access["write"]
