"""Every operator can turn on MFA (TOTP), and a deployment can require it of password sign-ins."""

from __future__ import annotations

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.core.cache import cache

from audit.services import Actor
from portal.models import Role
from portal.services import create_operator
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


def _password_sign_in(client, email: str, password: str) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]


def _activate_totp(client, password: str):
    client.post("/accounts/reauthenticate/", {"password": password})
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200, page.get("Location")
    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    return client.post("/accounts/2fa/totp/activate/", {"code": code})


@pytest.mark.django_db
def test_an_invited_operator_with_an_unconfirmed_address_can_turn_on_totp(client, admin_user):
    user, password = create_operator(
        actor=Actor.operator(admin_user), email="new@contoso.example", role=Role.OPERATOR
    )
    # An address nobody confirmed (a pending change, or one a Microsoft sign-in recorded)
    # blocked MFA for good: allauth refuses TOTP while any address is unverified.
    EmailAddress.objects.create(user=user, email="new.pending@contoso.example", verified=False)
    _password_sign_in(client, "new@contoso.example", password)

    _activate_totp(client, password)

    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@pytest.mark.django_db
def test_when_mfa_is_required_a_password_sign_in_without_it_is_sent_to_set_it_up(
    client, make_user, settings
):
    settings.PORTAL_REQUIRE_MFA = True
    user = make_user("omar@contoso.example", Role.OPERATOR)
    _password_sign_in(client, "omar@contoso.example", PASSWORD)

    for page in ("/", "/tenants/", "/audit/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/2fa/totp/activate/")
    assert client.post("/tenants/add/", {"tenant_ref": "fabrikam.example"}).status_code == 302

    _activate_totp(client, PASSWORD)

    assert Authenticator.objects.filter(user=user).exists()
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_mfa_is_not_asked_of_anyone_unless_required(client, make_user):
    make_user("omar@contoso.example", Role.OPERATOR)
    _password_sign_in(client, "omar@contoso.example", PASSWORD)
    assert client.get("/").status_code == 200
