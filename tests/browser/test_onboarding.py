"""Journeys 1, 2 and 5 in Chromium: preflight, onboarding, consent at cloudsim, failures.

The operator's browser and the customer admin's browser are separate contexts. The tenant page
must turn ``verified`` without a reload while a real Celery worker verifies through Graph.
"""

from __future__ import annotations

import re

import pytest

from cloudsim import ids
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _onboard(page, domain: str, shot=None) -> str:
    page.get_by_role("link", name="Tenants").click()
    if shot:
        shot(page, "04b-tenant-list")
    page.get_by_role("link", name=re.compile("Add tenant")).first.click()
    if shot:
        shot(page, "04c-tenant-add")
    page.get_by_label("Tenant id or verified domain").fill(domain)
    page.get_by_role("button", name="Add tenant").click()
    page.get_by_role("heading", name="Consent links").wait_for()
    return page.url


def _consent_link(page, level: str = "") -> str:
    page.locator("summary", has_text="Create a consent link").click()
    if level:
        page.get_by_label("Verification level").select_option(value=level)
    page.get_by_role("button", name="Create consent link").click()
    return page.get_by_label(re.compile("Consent link")).input_value()


def _answer(admin, link: str, upn: str, button: str) -> str:
    admin.goto(link)
    admin.get_by_role("button", name="Continue to Microsoft").click()
    admin.get_by_label("Signed in as").select_option(value=upn)
    admin.get_by_role("button", name=button).click()
    admin.locator("main h1").wait_for()
    return admin.inner_text("main")


def test_operator_onboards_fabrikam_and_the_admin_consents(operator_page, admin_browser, shot):
    page = operator_page
    page.get_by_role("link", name="Home preflight").click()
    page.get_by_role("heading", name="Home tenant preflight").wait_for()
    shot(page, "04-preflight")
    page.get_by_role("button", name="Create the ACS Clients service principal").click()
    page.get_by_text(re.compile("ACS Clients service principal", re.I)).first.wait_for()

    tenant_url = _onboard(page, ids.FABRIKAM_DOMAIN, shot)
    assert ids.FABRIKAM_DOMAIN in page.inner_text("h1")
    link = _consent_link(page)
    shot(page, "05-consent-link")

    admin = admin_browser
    admin.goto(link)
    admin.get_by_role("heading", name=re.compile("asks for admin consent")).wait_for()
    landing = admin.inner_text("main")
    assert "VoIP" in landing and "Global Administrator" in landing
    shot(admin, "06-consent-landing")
    admin.get_by_role("button", name="Continue to Microsoft").click()
    admin.get_by_label("Signed in as").select_option(value="admin@fabrikam.example")
    admin.screenshot(path=str(ARTIFACTS / "07-cloudsim-consent.png"))  # cloudsim, not ours: no axe
    admin.get_by_role("button", name="Accept").click()
    admin.get_by_role("heading", name=re.compile("consent was granted")).wait_for()
    assert "Enterprise applications" in admin.inner_text("main") or "group" in admin.inner_text(
        "main"
    )
    shot(admin, "08-consent-granted")

    # The operator's page, opened before consent, turns verified by itself.
    page.goto(tenant_url)
    page.get_by_text("Verified", exact=True).first.wait_for(timeout=60_000)
    assert page.url == tenant_url
    shot(page, "09-tenant-verified")


def test_declined_consent_shows_the_right_page(operator_page, admin_browser, shot):
    _onboard(operator_page, ids.LITWARE_DOMAIN)
    link = _consent_link(operator_page)
    admin = admin_browser
    admin.goto(link)
    admin.get_by_role("button", name="Continue to Microsoft").click()
    admin.get_by_role("button", name="Cancel").click()
    text = admin.inner_text("main")
    assert "Consent was declined" in text and "Nothing was changed" in text
    shot(admin, "10-consent-declined")


def test_tenant_without_acs_clients_gets_the_remedy(operator_page, admin_browser, shot):
    _onboard(operator_page, ids.NORTHWIND_DOMAIN)
    link = _consent_link(operator_page)
    admin = admin_browser
    admin.goto(link)
    admin.get_by_role("button", name="Continue to Microsoft").click()
    admin.get_by_role("button", name="Accept").click()
    admin.get_by_text("az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6").wait_for()
    assert "AADSTS650052" in admin.inner_text("main")
    shot(admin, "11-consent-acs-clients-missing")


def test_an_application_admin_consents_at_the_standard_level(operator_page, admin_browser, shot):
    page = operator_page
    tenant_url = _onboard(page, ids.FABRIKAM_DOMAIN)
    link = _consent_link(page, "standard")
    admin = admin_browser
    admin.goto(link)
    who = admin.locator("#who-can-consent").inner_text()
    assert "Application Administrator" in who and "standard" in who
    shot(admin, "06b-consent-landing-standard")
    text = _answer(admin, link, "appadmin@fabrikam.example", "Accept")
    assert "consent was granted" in text
    # Proof from the customer's side: a plain user signs in at Microsoft (code + PKCE).
    admin.get_by_role("button", name=re.compile("Test with a user of")).click()
    admin.get_by_label("Account").select_option(value="adele@fabrikam.example")
    admin.get_by_label("Password").fill(ids.DEMO_PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    outcome = admin.locator("#user-test-outcome")
    outcome.wait_for()
    assert "token with the VoIP permission: the admin consent works" in outcome.inner_text()
    shot(admin, "08b-user-test")
    page.goto(tenant_url)
    page.get_by_text("Verified", exact=True).first.wait_for(timeout=60_000)
    assert page.locator("#verification-level").inner_text() == "Standard"
    assert "Not checked at the standard level" in page.inner_text("main")
    assert "adele@fabrikam.example" in page.locator("#last-user-test").inner_text()
    shot(page, "09b-tenant-verified-standard")


def test_an_application_admin_on_a_deep_link_is_told_which_role_is_needed(
    operator_page, admin_browser, shot
):
    _onboard(operator_page, ids.FABRIKAM_DOMAIN)
    link = _consent_link(operator_page, "deep")
    text = _answer(admin_browser, link, "appadmin@fabrikam.example", "Accept")
    assert "An administrator must consent" in text and "Global Administrator" in text
    assert "AADSTS90094" in text and "consent was granted" not in text
    shot(admin_browser, "11b-consent-insufficient-role")


def _remote_ids(cloudsim) -> set[str]:
    found = cloudsim.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    return {a["objectId"] for a in found}


def _until(condition, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_a_tenants_whole_life_from_registration_to_offboarded(
    operator_page, admin_browser, cloudsim_clean, operator_user, shot
):
    """Issue 13's journey: registered, verify before consent says "not consented" (no crash),
    verified, an assignment synced to the ACS resource, the operator app's service principal
    deleted in the tenant → "revoked: … remedy" after the next check, then offboarding, whose
    page follows the sync by itself until the assignment is gone from the resource."""
    from assignments import services as acs_services
    from assignments.models import AcsResource
    from audit.services import Actor
    from tenants.models import CustomerTenant

    page = operator_page
    tenant_url = _onboard(page, ids.FABRIKAM_DOMAIN)
    assert page.locator("#tenant-status").inner_text() == "Registered"
    assert page.get_by_role("button", name="Verify now").count() == 0
    link = _consent_link(page)
    page.goto(tenant_url)
    assert page.locator("#tenant-status").inner_text() == "Invited"
    page.get_by_role("button", name="Verify now").click()
    page.get_by_text(re.compile("Not consented \\(yet, or any more\\)")).wait_for(timeout=60_000)
    assert page.locator("#tenant-status").inner_text() == "Invited"

    _answer(admin_browser, link, "admin@fabrikam.example", "Accept")
    page.goto(tenant_url)
    page.get_by_text("Verified", exact=True).first.wait_for(timeout=60_000)

    # The tenant gets an assignment on an ACS resource, synced there by the worker.
    cloudsim_clean.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
    resource = AcsResource.objects.create(
        name=ids.CONTOSO_ACS,
        endpoint=cloudsim_clean.acs_resources[ids.CONTOSO_ACS]["endpoint"],
        key_env_var="ACS_DEMO_ACCESS_KEY",
    )
    tenant = CustomerTenant.objects.get(tenant_id=ids.FABRIKAM_TENANT_ID)
    acs_services.add_assignment(
        actor=Actor.operator(operator_user),
        resource=resource,
        tenant=tenant,
        principal_type="tenant",
    )
    _until(lambda: ids.FABRIKAM_TENANT_ID in _remote_ids(cloudsim_clean))

    cloudsim_clean.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    page.get_by_role("button", name="Verify now").click()
    page.locator("#revoked-cause").wait_for(timeout=60_000)
    cause = page.locator("#revoked-cause").inner_text()
    assert "Revoked:" in cause and "Remedy:" in cause and "consent link" in cause
    assert "enterprise application was deleted" in cause
    shot(page, "12-tenant-revoked")

    page.get_by_role("link", name="Offboard this tenant").click()
    page.get_by_role("button", name="Start offboarding").click()
    # The page follows the sync on its own (no reload here) until nothing is left.
    page.locator("#offboarding-done").wait_for(timeout=60_000)
    assert ids.FABRIKAM_TENANT_ID not in _remote_ids(cloudsim_clean)
    assert "az ad sp delete --id" in page.locator("#customer-text").inner_text()
    page.get_by_role("button", name="Finish offboarding").click()
    page.get_by_role("button", name=re.compile("Delete the tenant")).wait_for()
    assert page.locator("#tenant-status").inner_text() == "Offboarded"
    shot(page, "13-tenant-offboarded")
