"""A German-speaking customer admin in Chromium: the landing page and a dead end in German."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def german_admin(browser, live_server):
    """A browser whose language is German (Chromium sends Accept-Language: de-DE)."""
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def fabrikam_link(operator_user, settings):
    settings.OPERATOR_NAME = "Contoso"
    settings.PORTAL_SUPPORT_EMAIL = "onboarding@contoso.example"
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", primary_domain="fabrikam.example"
    )
    return consent.issue_consent_link(actor=Actor.operator(operator_user), tenant=tenant)


def test_a_german_speaking_admin_reads_the_landing_page_in_german(
    german_admin, fabrikam_link, shot
):
    page = german_admin
    page.goto(f"/consent/{fabrikam_link.token}/")
    page.get_by_role("heading", name="Contoso bittet um Administratoreinwilligung").wait_for()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("button", name="Weiter zu Microsoft").is_visible()
    assert "Globaler Administrator" in page.locator("#who-can-consent").inner_text()
    shot(page, "30-consent-landing-de")


def test_a_german_speaking_admin_with_an_expired_link_requests_a_new_one(
    german_admin, fabrikam_link, shot
):
    ConsentLink.objects.filter(pk=fabrikam_link.link.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    page = german_admin
    page.goto(f"/consent/{fabrikam_link.token}/")
    page.get_by_text("Dieser Einwilligungslink ist abgelaufen.").wait_for()
    assert page.get_by_role("link", name="onboarding@contoso.example").is_visible()
    shot(page, "31-consent-expired-de")
    page.get_by_role("button", name="Neuen Link anfordern").click()
    page.get_by_role("heading", name="Neuer Link angefordert").wait_for()
    shot(page, "32-link-requested-de")
    assert AuditEvent.objects.filter(action="consent.link_requested").count() == 1
