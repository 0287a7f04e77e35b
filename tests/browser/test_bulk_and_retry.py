"""Issue 17's assignment journeys in Chromium: bulk-remove 500 imported assignments in one
action, and retry the failed entries after cloudsim refused writes.

The syncs run in the real Celery worker against cloudsim's ACS store; nothing is stubbed.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from assignments.models import Assignment, SyncRun
from cloudsim import ids
from tests.browser import test_assign_and_audit as journeys

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Fabrikam verified through the real consent path, and cloudsim's contoso-acs, emptied.
fabrikam_verified = journeys.fabrikam_verified


def remote_ids(cloudsim) -> set[str]:
    return {
        a["objectId"] for a in cloudsim.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    }


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)
    return value


def csv_of_users(n: int) -> tuple[str, set[str]]:
    oids = [str(uuid.UUID(int=(0xB0C << 80) + i)) for i in range(n)]
    rows = [f"user,{oid},{ids.FABRIKAM_TENANT_ID}," for oid in oids]
    return "principal_type,object_id,tenant_id,client_ids\n" + "\n".join(rows) + "\n", set(oids)


def test_bulk_remove_500_imported_assignments_in_one_action(
    operator_page,
    fabrikam_verified,
    cloudsim_clean,
    shot,
):
    _, resource = fabrikam_verified
    page = operator_page
    text, oids = csv_of_users(500)
    page.goto(f"/resources/{resource.pk}/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "users.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("All 500 rows are valid").wait_for()
    page.get_by_role("button", name="Import 500 rows").click()
    page.get_by_text("Imported 500 rows").wait_for()
    wait_for(lambda: oids <= remote_ids(cloudsim_clean), 120, "the import to reach ACS")

    page.goto("/resources/?ordering=-assignments")
    page.get_by_role("link", name="500 assignments").wait_for()
    shot(page, "14g-resources")
    page.goto(f"/resources/{resource.pk}/syncs/")
    page.get_by_role("heading", name=f"Sync runs of {resource.name}").wait_for()
    shot(page, "14h-sync-runs")
    page.goto(f"/resources/{resource.pk}/connect/")
    page.get_by_role("heading", name=re.compile("Connect your app")).wait_for()
    assert resource.endpoint in page.inner_text("main")
    shot(page, "14i-connect-app")

    page.goto(f"/resources/{resource.pk}/assignments/")
    page.get_by_text("500 assignments in total").wait_for()
    page.get_by_label(re.compile(r"all 500 on this list")).check()
    shot(page, "14c-assignments-bulk")
    page.get_by_role("button", name="Remove…").click()
    page.get_by_role("heading", name="Remove 500 assignments?").wait_for()
    assert "500 users" in page.inner_text("main") and "Fabrikam (500)" in page.inner_text("main")
    assert Assignment.objects.filter(desired="absent").count() == 0  # nothing yet
    shot(page, "14d-assignments-bulk-confirm")
    page.get_by_role("button", name="Remove 500 assignments").click()
    page.get_by_text(
        "500 assignments will be removed from the resource by the next sync."
    ).wait_for()
    wait_for(lambda: not (oids & remote_ids(cloudsim_clean)), 120, "ACS to lose them")
    wait_for(lambda: not Assignment.objects.filter(resource=resource).exists(), 30, "the rows")
    run = SyncRun.objects.filter(resource=resource, deleted=500).get()
    page.goto(f"/syncs/{run.pk}/")
    page.get_by_text("Succeeded · In sync").wait_for()


def test_retry_failed_entries_after_acs_refused_writes(
    operator_page,
    fabrikam_verified,
    cloudsim_clean,
    shot,
):
    tenant, resource = fabrikam_verified
    page = operator_page
    for method in ("PATCH", "PUT"):
        cloudsim_clean.set_fault("503", service=ids.CONTOSO_ACS, method=method)
    page.goto(f"/resources/{resource.pk}/assignments/add/?tenant={tenant.pk}&q=Megan")
    page.get_by_role("button", name="Assign Megan Bowen").click()
    page.get_by_text("Assigned Megan Bowen on").wait_for()
    page.goto(f"/resources/{resource.pk}/")
    page.get_by_role("button", name="Sync now").click()
    page.wait_for_url(re.compile(r"/syncs/\d+/"))
    # While the breaker waits, the page says so, with the seconds left and ACS's answer.
    page.get_by_text(re.compile(r"Waiting \d+ s before retrying")).wait_for(timeout=60_000)
    assert "Running · waiting to retry" in page.inner_text("main")
    shot(page, "14e-sync-waiting")
    # The worker gives up after its retry budget; the run ends partially failed.
    page.get_by_role("button", name="Retry failed entries").wait_for(timeout=180_000)
    main = page.inner_text("main")
    assert "Partially failed" in main and "Megan Bowen" in main and ids.FABRIKAM_MEGAN in main
    shot(page, "14f-sync-failed")
    cloudsim_clean.clear_faults()
    page.get_by_role("button", name="Retry failed entries").click()
    page.get_by_text("The failed entries are being sent again.").wait_for()
    page.get_by_text("Every change reached the resource.").wait_for(timeout=60_000)
    assert ids.FABRIKAM_MEGAN in remote_ids(cloudsim_clean)
    assert Assignment.objects.get(object_id=ids.FABRIKAM_MEGAN).sync_state == "synced"
