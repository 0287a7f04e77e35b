"""Journeys 3 and 4 in Chromium: assign a group and a user, watch the sync; the auditor's report.

State before the journeys comes from the real consent path (cloudsim + services), not fixtures
that write rows directly, so the auditor finds the events a real onboarding leaves.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from assignments.models import AcsResource, Assignment
from audit.services import Actor
from cloudsim import ids
from portal.models import Role
from tenants.models import TenantStatus
from tests.conftest import PASSWORD
from tests.support.microsoft import consent, invite, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fabrikam_verified(portal, client, operator_user, cloudsim_clean, settings):
    from tenants import graph

    graph.reset_token_caches()
    base = settings.PORTAL_BASE_URL
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"  # the test client answers the callback
    tenant, issued = invite(Actor.operator(operator_user), ids.FABRIKAM_DOMAIN)
    consent(client, cloudsim_clean, issued.token, "admin@fabrikam.example")
    settings.PORTAL_BASE_URL = base
    tenant = wait_for_status(tenant, TenantStatus.VERIFIED)
    cloudsim_clean.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
    resource = AcsResource.objects.create(
        name=ids.CONTOSO_ACS,
        endpoint=cloudsim_clean.acs_resources[ids.CONTOSO_ACS]["endpoint"],
        key_env_var="ACS_DEMO_ACCESS_KEY",
    )
    return tenant, resource


def test_operator_assigns_a_group_and_a_user_and_watches_the_sync(
    operator_page, fabrikam_verified, cloudsim_clean, shot
):
    tenant, resource = fabrikam_verified
    page = operator_page
    page.goto(f"/tenants/{tenant.pk}/")
    page.get_by_label(re.compile("Find groups in")).fill("Sa")
    page.get_by_role("button", name="Search Graph").click()
    page.get_by_role("list", name="Groups found").get_by_role("button", name="Add").first.click()
    page.get_by_text("Sales").first.wait_for()

    page.get_by_role("link", name="ACS resources").click()
    page.get_by_role("link", name=ids.CONTOSO_ACS).first.click()
    shot(page, "12-resource")
    # One flow: the tenant, a Graph search of its users and groups, Assign on a result.
    page.get_by_role("link", name="Add assignments").click()
    page.get_by_label("Tenant").select_option(label="Fabrikam (verified)")
    page.get_by_label("Find users and groups").fill("Sa")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("button", name="Assign Sales").wait_for()
    shot(page, "12b-assignment-add")
    page.get_by_role("button", name="Assign Sales").click()
    page.get_by_text("Assigned Sales on").wait_for()
    page.get_by_label("Find users and groups").fill("ade")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_text("adele@fabrikam.example").first.wait_for()
    shot(page, "13-user-search")
    # Enter in a field assigns nobody (it is not a click on the first Assign).
    page.get_by_label("Client ids allowed").press("Enter")
    page.wait_for_timeout(500)
    assert not Assignment.objects.filter(object_id=ids.FABRIKAM_ADELE).exists()
    page.get_by_role("button", name="Assign Adele Vance").click()  # one click
    page.get_by_text("Assigned Adele Vance on").wait_for()
    assert page.get_by_role("button", name="Assign Adele Vance").count() == 0

    page.goto(f"/resources/{resource.pk}/")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(r"/syncs/\d+/"))
    progress = page.locator("progress")
    page.wait_for_function("() => document.querySelector('progress').value >= 100", timeout=60_000)
    assert progress.evaluate("p => p.value") == 100
    page.get_by_text("Every change reached the resource.").wait_for(timeout=30_000)
    shot(page, "14-sync-finished")
    remote = cloudsim_clean.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    assert {a["objectId"] for a in remote} == {ids.FABRIKAM_SALES_GROUP, ids.FABRIKAM_ADELE}

    # Megan is in Sales: the access check explains why she can get a token, then proves it.
    page.get_by_role("link", name="Access check").click()
    page.get_by_label("Resource").select_option(label=ids.CONTOSO_ACS)
    page.get_by_label("Tenant").select_option(label="Fabrikam")
    page.get_by_label("User (UPN or object id)").fill("megan@fabrikam.example")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Yes: this user can get an ACS token").wait_for()
    assert "Sales" in page.inner_text("main")
    page.get_by_role("button", name="Run the token exchange").click()
    page.get_by_text("ACS identity").wait_for()
    assert f"_wf_{ids.FABRIKAM_TENANT_ID}_{ids.FABRIKAM_MEGAN}" in page.inner_text("main")
    shot(page, "14b-access-check")


def test_auditor_filters_the_log_opens_the_report_and_downloads_csv(
    browser,
    portal,
    fabrikam_verified,
    make_user,
    shot,
):
    tenant, _resource = fabrikam_verified
    auditor = make_user("aiko@contoso.example", Role.AUDITOR, display_name="Aiko Auditor")
    context = browser.new_context(base_url=portal.url, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(auditor.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("link", name="Audit log", exact=True).click()
    page.get_by_label("Tenant").fill("Fabrikam")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    assert rows.count() >= 5
    assert "Litware" not in page.inner_text("table")
    shot(page, "15-audit-log-filtered")

    granted = page.locator("table tbody tr", has_text="Admin consent granted").first
    granted.get_by_role("link", name=re.compile("Details")).click()
    page.get_by_role("heading", name="Admin consent granted").wait_for()
    details = page.inner_text("main")
    assert ids.FABRIKAM_DOMAIN in details and '"outcome": "granted"' in details
    shot(page, "16-audit-event")

    page.go_back()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(content)))
    assert len(exported) == rows.count()  # the same filtered view, every row
    assert {r["tenant_id"] for r in exported} == {str(tenant.tenant_id)}
    assert "consent.granted" in {r["action"] for r in exported}

    page.goto(f"/audit/tenants/{tenant.pk}/report/")
    page.get_by_role("heading", name=re.compile("Onboarding report")).wait_for()
    report = page.inner_text("main")
    assert "Admin consent granted" in report and "Consent verified" in report
    shot(page, "17-onboarding-report")
    # Read-only: the auditor sees no button that changes anything on the tenant page.
    page.goto(f"/tenants/{tenant.pk}/")
    assert page.get_by_role("button", name="Verify now").count() == 0
    context.close()
