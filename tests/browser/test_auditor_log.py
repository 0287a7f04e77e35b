"""The auditor's journey in Chromium (issue 17, "done when"): read the log, filter it by a
tenant's Entra tenant id, download the CSV and find the same id; the tenant's timeline and the
reports index; no page offers the auditor a change.

Fabrikam is onboarded through the real consent path (cloudsim as Microsoft, the worker verifies);
Litware is only registered, so the filter has something to leave out.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from audit.services import Actor
from cloudsim import ids
from portal.models import Role
from tenants.actions import consent as consent_actions
from tenants.actions import registration
from tenants.models import TenantStatus
from tests.conftest import PASSWORD
from tests.support.microsoft import consent, invite, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def onboarded(portal, client, operator_user, cloudsim_clean, settings):
    from tenants import graph

    graph.reset_token_caches()
    base = settings.PORTAL_BASE_URL
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"  # the test client answers the callback
    actor = Actor.operator(operator_user)
    fabrikam, issued = invite(actor, ids.FABRIKAM_DOMAIN)
    consent(client, cloudsim_clean, issued.token, "admin@fabrikam.example")
    settings.PORTAL_BASE_URL = base
    fabrikam = wait_for_status(fabrikam, TenantStatus.VERIFIED)
    litware = registration.register_tenant(
        actor=actor, tenant_ref=ids.LITWARE_TENANT_ID, offline=True
    )
    consent_actions.issue_consent_link(actor=actor, tenant=litware)
    return fabrikam, litware


def _signed_in(browser, portal, user, **options):
    context = browser.new_context(base_url=portal.url, **options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    return context, page


def test_auditor_filters_the_log_by_tenant_id_and_the_csv_carries_the_same_id(
    browser, portal, onboarded, make_user, shot
):
    fabrikam, litware = onboarded
    guid = str(fabrikam.tenant_id)
    auditor = make_user("aiko@contoso.example", Role.AUDITOR, display_name="Aiko Auditor")
    context, page = _signed_in(browser, portal, auditor, accept_downloads=True)

    # The whole log: both tenants, actions in words, one stated time zone.
    page.get_by_role("link", name="Audit log", exact=True).click()
    table = page.inner_text("table")
    assert "Litware" in table or str(litware.tenant_id) in table
    assert "Consent link created" in table and "consent.link_created" not in table
    assert "UTC, +00:00" in table

    # Filter by Fabrikam's Entra tenant id.
    page.get_by_label("Tenant", exact=True).fill(guid)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(f"**tenant={guid}**")
    rows = page.locator("table tbody tr")
    shown = rows.count()
    assert shown >= 5
    assert "Litware" not in page.inner_text("table")
    assert "Admin consent granted" in page.inner_text("table")
    shot(page, "19-audit-log-by-tenant-id")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    exported = list(
        csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8")))
    )
    assert len(exported) == shown  # the filtered view, every row
    assert {r["tenant_id"] for r in exported} == {guid}
    assert {r["tenant_name"] for r in exported} == {str(fabrikam)}
    assert "Admin consent granted" in {r["action_label"] for r in exported}

    # From a row's tenant to its timeline, then the reports index.
    page.goto(f"/tenants/{fabrikam.pk}/")
    assert page.locator('form[method="post"] button', has_text="Verify now").count() == 0
    page.get_by_role("link", name="Whole timeline").click()
    page.get_by_role("heading", name=f"Timeline: {fabrikam}").wait_for()
    timeline = page.inner_text("main")
    assert "Admin consent granted" in timeline and "Registered → Invited" in timeline
    shot(page, "20-tenant-timeline")

    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("heading", name="Reports", exact=True).wait_for()
    assert page.get_by_role("link", name=f"Onboarding report of {fabrikam}").count() == 1
    shot(page, "21-reports")
    # Nothing on the pages the auditor read offered a change.
    for path in ("/", "/tenants/", f"/tenants/{fabrikam.pk}/", "/tenants/links/", "/resources/"):
        page.goto(path)
        forms = page.locator('main form[method="post"]')
        assert forms.count() == 0, path
    context.close()


def test_operator_sorts_tenants_and_opens_a_dashboard_tile(
    browser, portal, onboarded, operator_user, shot
):
    _fabrikam, litware = onboarded
    context, page = _signed_in(browser, portal, operator_user)
    tile = page.get_by_role("link", name="waiting for consent")
    count = int(tile.locator(".count").inner_text())
    assert count == 1  # Litware: a link out, no answer yet
    tile.click()
    page.wait_for_url("**status=invited**")
    assert page.locator("table tbody tr").count() == count
    assert str(litware) in page.inner_text("table")

    page.goto("/tenants/")
    page.locator("thead th a").first.click()
    page.wait_for_url("**ordering=-name**")
    names = page.locator("table tbody tr td:first-child a").all_inner_texts()
    assert names == sorted(names, reverse=True)
    shot(page, "04c-tenant-list-sorted")

    page.get_by_role("link", name="Consent links").first.click()
    page.get_by_role("heading", name="Consent links").wait_for()
    assert "Consent granted" in page.inner_text("table")
    shot(page, "22-consent-links")
    context.close()
