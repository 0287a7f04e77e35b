"""Words a person reads: no sign-up offered while it is closed, plurals, no literal backticks,
and "Invited" only once a consent link exists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from audit.services import Actor
from cloudsim import ids
from notifications.kinds import KINDS
from tenants.actions import consent, registration
from tenants.models import CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


def test_the_sign_in_page_offers_no_sign_up_while_sign_up_is_closed(client, settings):
    settings.ACCOUNT_SIGNUP_OPEN = False
    page = client.get("/accounts/login/").content.decode()
    assert "sign up" not in page.lower() and "/accounts/signup/" not in page
    assert "there is no sign-up" in page
    settings.ACCOUNT_SIGNUP_OPEN = True
    assert "/accounts/signup/" in client.get("/accounts/login/").content.decode()


def test_a_reset_for_an_unknown_email_offers_no_sign_up_while_it_is_closed(client, settings):
    settings.ACCOUNT_SIGNUP_OPEN = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password/reset/", {"email": "nobody@fabrikam.example"})
    [message] = mail.outbox
    assert "sign up" not in message.body.lower() and "/accounts/signup/" not in message.body
    assert "there is no sign-up" in message.body


@pytest.mark.parametrize(
    "days, words", [(1, "1 day left."), (0, "0 days left."), (7, "7 days left.")]
)
def test_expiry_notifications_count_days_in_words(days, words):
    assert KINDS["credential.expiring"].cause({"days_left": days}) == words
    assert KINDS["link.expiring"].cause({"days_left": days}) == words


def test_a_tenant_is_invited_only_once_a_consent_link_exists(operator_client, operator_user):
    actor = Actor.operator(operator_user)
    tenant = registration.register_tenant(
        actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", offline=True
    )
    assert tenant.status == TenantStatus.REGISTERED
    assert "Invited" not in operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    consent.issue_consent_link(actor=actor, tenant=tenant)
    tenant.refresh_from_db()
    assert tenant.status == TenantStatus.INVITED
    assert "Invited" in operator_client.get(f"/tenants/{tenant.pk}/").content.decode()


def test_the_customer_admins_pages_show_no_literal_backticks(client, operator_user):
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.NORTHWIND_TENANT_ID, display_name="Northwind", primary_domain="nw.example"
    )
    issued = consent.issue_consent_link(actor=Actor.operator(operator_user), tenant=tenant)
    pages = [client.get(f"/consent/{issued.token}/"), client.get("/consent/x/")]
    state = parse_qs(urlsplit(client.post(f"/consent/{issued.token}/")["Location"]).query)
    pages.append(
        client.get(
            "/consent/callback/",
            {
                "error": "invalid_client",
                "error_description": "AADSTS650052: The app is trying to access a service",
                "state": state["state"][0],
            },
        )
    )
    pages.append(client.get("/consent/callback/", {"state": "forged"}))
    for response in pages:
        assert "`" not in response.content.decode(), response.request["PATH_INFO"]
