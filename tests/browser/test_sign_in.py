"""Journey 1 (start): an operator signs in with a local account protected by TOTP MFA."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from portal.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_operator_signs_in_with_password_and_totp(page, make_user, shot):
    user = make_user("omar@contoso.example", Role.OPERATOR, display_name="Omar Operator")
    secret = generate_totp_secret()
    TOTP.activate(user, secret)

    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    shot(page, "01-sign-in")
    page.get_by_label("Email").fill("omar@contoso.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.get_by_placeholder("Code").fill(_current_code(secret))
    shot(page, "02-mfa")
    page.get_by_role("button", name="Sign In").click()

    page.get_by_role("heading", name="Dashboard").wait_for()
    assert "Omar Operator" in page.inner_text("header")
    shot(page, "03-dashboard")


def test_wrong_totp_code_keeps_the_operator_out(page, make_user):
    user = make_user("omar@contoso.example", Role.OPERATOR)
    TOTP.activate(user, generate_totp_secret())
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("omar@contoso.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_placeholder("Code").fill("000000")
    page.get_by_role("button", name="Sign In").click()
    assert page.get_by_text("Incorrect code.").is_visible()
    page.goto("/")
    assert "/accounts/login/" in page.url or "/accounts/2fa/" in page.url


@pytest.mark.integration
def test_operator_signs_in_with_microsoft_through_cloudsim(browser, portal, make_user, shot):
    from cloudsim import ids

    make_user("ops@contoso.example", Role.OPERATOR, display_name="Olga Ops")
    # cloudsim's TLS certificate comes from its own CA, which Chromium does not trust.
    context = browser.new_context(base_url=portal.url, ignore_https_errors=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Microsoft").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Account").select_option(value="ops@contoso.example")
    page.get_by_label("Password").fill(ids.DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    assert "Olga Ops" in page.inner_text("header")
    shot(page, "03b-dashboard-after-microsoft-sign-in")
    context.close()


def test_admin_invites_an_operator(page, make_user, shot):
    make_user("dana@contoso.example", Role.ADMIN, display_name="Dana Admin")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("dana@contoso.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Operators").click()
    page.get_by_label("Email address").fill("new.operator@contoso.example")
    page.locator("#id_role").select_option("operator")
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("new.operator@contoso.example can now sign in").wait_for()
    shot(page, "18-operators")
