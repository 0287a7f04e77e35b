"""The operator console of issue 17: one-flow add, bulk changes, names, honest runs, lists."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from assignments.models import AcsResource, Assignment, DriftEntry, SyncRun, SyncState
from audit.models import AuditEvent
from cloudsim import ids
from tenants.models import CustomerGroup, CustomerTenant
from tests.assignments.test_views import confirm_fields, upload

pytestmark = pytest.mark.django_db


def users(resource, tenant, n: int, start: int = 0, **extra) -> list[Assignment]:
    return Assignment.objects.bulk_create(
        Assignment(
            resource=resource,
            tenant=tenant,
            principal_type="user",
            object_id=uuid.UUID(int=(0xFAB << 64) + i),
            display_name=f"User {i:03d}",
            client_ids=[ids.OPERATOR_APP_ID],
            **extra,
        )
        for i in range(start, start + n)
    )


@pytest.fixture
def consented(fabrikam, microsoft, settings):
    """Fabrikam consented on cloudsim: Graph answers for it."""
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    cache.clear()
    return fabrikam


# --- add in one flow ------------------------------------------------------------------------
def test_search_finds_users_and_groups_and_one_click_assigns_a_user(
    operator_client, offline_resource, consented
):
    url = reverse("assignments:assignment_add", args=[offline_resource.pk])
    page = operator_client.get(url, {"tenant": consented.pk, "q": "S"}).content.decode()
    assert page.count("<select") == 1  # one tenant picker, nothing else to choose first
    assert "search below" not in page and "Copy" not in page
    assert "Sales" in page and "Support" in page  # groups from Graph
    page = operator_client.get(url, {"tenant": consented.pk, "q": "Adele"}).content.decode()
    assert f'value="user:{ids.FABRIKAM_ADELE}"' in page and "adele@fabrikam.example" in page
    # the operator app's client id is filled in
    assert f'value="{ids.OPERATOR_APP_ID}"' in page
    response = operator_client.post(
        url,
        {
            "tenant": consented.pk,
            "q": "Adele",
            "one": f"user:{ids.FABRIKAM_ADELE}",
            "client_ids": ids.OPERATOR_APP_ID,
        },
    )
    assert response.status_code == 302
    a = Assignment.objects.get()
    assert (str(a.object_id), a.display_name, a.client_ids) == (
        ids.FABRIKAM_ADELE,
        "Adele Vance",
        [ids.OPERATOR_APP_ID],
    )
    again = operator_client.get(response.url).content.decode()
    assert "Assigned Adele Vance on offline-acs" in again
    assert f'value="user:{ids.FABRIKAM_ADELE}"' not in again and "assigned</span>" in again


def test_ticked_results_are_assigned_together_and_a_graph_group_needs_no_other_page(
    operator_client, offline_resource, consented
):
    CustomerGroup.objects.filter(tenant=consented).delete()
    url = reverse("assignments:assignment_add", args=[offline_resource.pk])
    operator_client.post(
        url,
        {
            "tenant": consented.pk,
            "q": "",
            "picked": [f"group:{ids.FABRIKAM_SUPPORT_GROUP}", f"user:{ids.FABRIKAM_MEGAN}"],
            "client_ids": ids.OPERATOR_APP_ID,
        },
    )
    assert dict(Assignment.objects.values_list("principal_type", "display_name")) == {
        "group": "Support",
        "user": "Megan Bowen",
    }
    assert CustomerGroup.objects.filter(object_id=ids.FABRIKAM_SUPPORT_GROUP).exists()


def test_the_only_resource_is_preselected_on_the_tenant_side(
    operator_client, offline_resource, fabrikam
):
    page = operator_client.get(
        reverse("assignments:assign"), {"tenant": fabrikam.pk, "q": "x"}
    ).content.decode()
    assert f'<option value="{offline_resource.pk}" selected>' in page
    assert "Assign the whole tenant Fabrikam" in page


def test_graph_failure_on_search_is_said_not_a_500(
    operator_client, offline_resource, consented, microsoft
):
    microsoft.set_fault("503", service="graph")
    url = reverse("assignments:assignment_add", args=[offline_resource.pk])
    response = operator_client.get(url, {"tenant": consented.pk, "q": "A"})
    assert response.status_code == 200
    assert "Microsoft Graph could not search Fabrikam" in response.content.decode()


# --- bulk -----------------------------------------------------------------------------------
def test_remove_all_matching_asks_first_with_a_summary_then_removes_them(
    operator_client, offline_resource, fabrikam
):
    users(offline_resource, fabrikam, 25)
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=fabrikam.tenant_id,
        display_name="Fabrikam",
    )
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    post = {"action": "remove", "scope": "matching", "f_principal_type": "user"}
    page = operator_client.post(url, post).content.decode()
    assert "Remove 25 assignments?" in page and "25 users" in page and "Fabrikam (25)" in page
    assert "User 000" in page and "… and 5 more." in page
    assert not Assignment.objects.filter(desired="absent").exists()
    response = operator_client.post(url, confirm_fields_of(page))
    assert response.status_code == 302
    assert Assignment.objects.filter(desired="absent").count() == 25
    assert Assignment.objects.get(principal_type="tenant").desired == "present"
    event = AuditEvent.objects.get(action="assignment.removed")
    assert event.details["count"] == 25 and len(event.details["object_ids"]) == 25
    listing = operator_client.get(response.url).content.decode()
    assert "25 assignments will be removed" in listing


def confirm_fields_of(page: str) -> dict:
    form = page[page.index('name="confirmed"') - 400 :]
    form = form[: form.index("</form>")]
    import re

    fields: dict = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(value)
    return fields


def test_a_selection_that_changed_before_confirming_is_shown_again(
    operator_client, offline_resource, fabrikam
):
    users(offline_resource, fabrikam, 3)
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = operator_client.post(url, {"action": "remove", "scope": "matching"}).content.decode()
    users(offline_resource, fabrikam, 1, start=3, sync_state=SyncState.SYNCED)
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="group",
        object_id=ids.FABRIKAM_SALES_GROUP,
        display_name="Sales",
    )
    page = operator_client.post(url, confirm_fields_of(page)).content.decode()
    assert "The selection changed" in page and "Remove 5 assignments?" in page
    assert not Assignment.objects.filter(desired="absent").exists()


def test_resync_and_retry_act_on_the_ticked_rows_of_this_list_only(
    operator_client, offline_resource, fabrikam, queued_tasks
):
    rows = users(offline_resource, fabrikam, 3, sync_state=SyncState.FAILED, last_error="503")
    other = AcsResource.objects.create(
        name="other", endpoint="https://o.invalid", key_env_var="ACS_KEY_O"
    )
    foreign = users(other, fabrikam, 1, sync_state=SyncState.FAILED)[0]
    Assignment.objects.filter(pk=foreign.pk).update(object_id=uuid.uuid4())
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    operator_client.post(
        url, {"action": "retry", "scope": "selected", "ids": [rows[0].pk, rows[1].pk, foreign.pk]}
    )
    states = dict(Assignment.objects.values_list("pk", "sync_state"))
    assert [states[r.pk] for r in rows] == ["pending", "pending", "failed"]
    assert states[foreign.pk] == "failed"
    run = SyncRun.objects.get(resource=offline_resource)
    assert run.trigger == "retry-failed" and run.status == "queued"
    event = AuditEvent.objects.get(action="sync.queued")
    assert event.details["count"] == 2 and event.details["trigger"] == "retry-failed"


def test_an_auditor_cannot_bulk_remove(auditor_client, offline_resource, fabrikam):
    users(offline_resource, fabrikam, 2)
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = auditor_client.get(url).content.decode()
    assert 'name="ids"' not in page and "Remove…" not in page
    response = auditor_client.post(
        url, {"action": "remove", "scope": "matching", "confirmed": "on", "expected": "2"}
    )
    assert response.status_code == 403
    assert not Assignment.objects.filter(desired="absent").exists()


def test_one_row_remove_is_confirmed_first(operator_client, offline_resource, fabrikam):
    (a,) = users(offline_resource, fabrikam, 1)
    url = reverse("assignments:assignment_remove", args=[offline_resource.pk, a.pk])
    page = operator_client.get(url).content.decode()
    assert "Remove this assignment?" in page and "User 000" in page
    a.refresh_from_db()
    assert a.desired == "present"
    operator_client.post(url)
    a.refresh_from_db()
    assert a.desired == "absent"


def test_edit_client_ids(operator_client, offline_resource, fabrikam):
    (a,) = users(offline_resource, fabrikam, 1, sync_state=SyncState.SYNCED)
    other = "0bea7a00-0000-4000-8000-0000000000b2"
    url = reverse("assignments:assignment_edit", args=[offline_resource.pk, a.pk])
    assert ids.OPERATOR_APP_ID in operator_client.get(url).content.decode()
    response = operator_client.post(url, {"client_ids": f"{ids.OPERATOR_APP_ID}; {other}"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert (a.client_ids, a.sync_state) == ([ids.OPERATOR_APP_ID, other], "pending")
    event = AuditEvent.objects.get(action="assignment.updated")
    assert event.details["client_ids"] == [[ids.OPERATOR_APP_ID], [ids.OPERATOR_APP_ID, other]]
    page = operator_client.post(url, {"client_ids": "not-a-guid"}).content.decode()
    assert "is not a GUID" in page


def test_csv_rows_marked_absent_are_removed(operator_client, offline_resource, fabrikam):
    rows = users(offline_resource, fabrikam, 2)
    text = (
        "principal_type,object_id,tenant_id,client_ids,desired\n"
        f"user,{rows[0].object_id},{ids.FABRIKAM_TENANT_ID},,absent\n"
        f"user,{ids.FABRIKAM_ALEX},{ids.FABRIKAM_TENANT_ID},,absent\n"
        f"user,{rows[1].object_id},{ids.FABRIKAM_TENANT_ID},{ids.OPERATOR_APP_ID},present\n"
    )
    page = upload(operator_client, offline_resource, text).content.decode()
    assert "0 to add, 0 to update, 1 to remove, 2 unchanged" in page
    assert "(removes 1)" in page
    url = reverse("assignments:import", args=[offline_resource.pk])
    operator_client.post(url, confirm_fields(page))
    assert dict(Assignment.objects.values_list("display_name", "desired")) == {
        "User 000": "absent",
        "User 001": "present",
    }
    assert AuditEvent.objects.get(action="assignment.imported").details["removed"] == 1
    bad = "principal_type,object_id,tenant_id,client_ids,action\n" + (
        f"user,{rows[1].object_id},{ids.FABRIKAM_TENANT_ID},,erase\n"
    )
    assert (
        "is not one of add, remove"
        in upload(operator_client, offline_resource, bad).content.decode()
    )


def test_an_import_updates_in_place_and_keeps_who_created_each_row(
    operator_user, offline_resource, fabrikam
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assignments import imports
    from audit.services import Actor

    creator = type(operator_user).objects.create_user("first@contoso.example", role="operator")
    [kept] = users(offline_resource, fabrikam, 1, created_by=creator, adopted=True)
    Assignment.objects.filter(pk=kept.pk).update(sync_state=SyncState.SYNCED)
    other = str(uuid.UUID(int=7))

    def apply(n: int, first: int = 0) -> tuple[imports.ImportPreview, int]:
        rows = [f"user,{kept.object_id},{ids.FABRIKAM_TENANT_ID},{ids.OPERATOR_APP_ID};{other}"]
        rows += [
            f"user,{uuid.UUID(int=(0xBEE << 64) + i)},{ids.FABRIKAM_TENANT_ID},"
            f"{ids.OPERATOR_APP_ID}"
            for i in range(first, first + n)
        ]
        text = "principal_type,object_id,tenant_id,client_ids\n" + "\n".join(rows)
        with CaptureQueriesContext(connection) as queries:
            preview = imports.apply_import(
                actor=Actor.operator(operator_user), resource=offline_resource, text=text
            )
        return preview, len(queries)

    small, small_queries = apply(10)
    large, large_queries = apply(2500, first=10)
    assert (large.count("add"), small.count("update")) == (2500, 1)
    # Written in batches (1,000 rows on PostgreSQL, 83 within SQLite's 999 parameters), not
    # four statements per row as update_or_create did.
    assert large_queries <= small_queries + 2500 // 50
    kept.refresh_from_db()
    assert kept.client_ids == [ids.OPERATOR_APP_ID, other]
    assert (kept.created_by, kept.adopted, kept.sync_state) == (creator, True, SyncState.PENDING)
    added = Assignment.objects.get(object_id=uuid.UUID(int=0xBEE << 64))
    assert added.created_by == operator_user and added.tenant == fabrikam
    assert Assignment.objects.filter(resource=offline_resource).count() == 2511


# --- names ----------------------------------------------------------------------------------
def test_failures_and_drift_show_names_beside_object_ids(
    operator_client, offline_resource, fabrikam
):
    (a,) = users(offline_resource, fabrikam, 1, sync_state=SyncState.FAILED)
    DriftEntry.objects.create(
        resource=offline_resource,
        object_id=ids.FABRIKAM_SALES_GROUP,
        tenant_id=ids.FABRIKAM_TENANT_ID,
        principal_type="group",
        last_seen_at=timezone.now(),
    )
    run = SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="partial",
        failed=1,
        errors=[
            {"object_id": str(a.object_id), "op": "create", "reason": "Boom", "transient": True}
        ],
        finished_at=timezone.now(),
    )
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert f'User 000 <span class="oid">(<code>{a.object_id}</code>)' in page
    assert "may pass on retry" in page
    drift = operator_client.get(reverse("assignments:drift", args=[offline_resource.pk]))
    assert (
        f'Sales <span class="oid">(<code>{ids.FABRIKAM_SALES_GROUP}</code>)'
        in drift.content.decode()
    )
    assert DriftEntry.objects.get().display_name == "Sales"  # kept for the next page


def test_a_hostile_display_name_is_escaped_on_the_list(operator_client, offline_resource, fabrikam):
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=ids.FABRIKAM_ALEX,
        display_name="<script>alert(1)</script>",
    )
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = operator_client.get(url).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "1 assignment in total" in page


# --- run page honesty -----------------------------------------------------------------------
def test_a_queued_run_never_says_running(operator_client, offline_resource):
    run = SyncRun.objects.create(resource=offline_resource, trigger="manual")
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "Running" not in page and "Queued" in page and "not yet (queued)" in page
    data = operator_client.get(reverse("assignments:run_progress", args=[run.pk])).json()
    assert data["phase"] == "queued" and data["fields"]["started"] == "not yet (queued)"


def test_a_waiting_run_says_how_long_and_why(operator_client, offline_resource):
    now = timezone.now()
    run = SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="running",
        started_at=now,
        waiting_until=now + timedelta(seconds=23),
        wait_reason="429 Too Many Requests (Retry-After 23 s)",
    )
    data = operator_client.get(reverse("assignments:run_progress", args=[run.pk])).json()
    assert data["phase"] == "waiting" and 20 <= data["wait_seconds"] <= 23
    assert (
        data["fields"]["wait"].startswith("Waiting 2")
        and "Retry-After 23 s" in data["fields"]["wait"]
    )
    assert data["fields"]["status"] == "Running · waiting to retry"


def test_succeeded_is_not_in_sync_while_drift_is_unresolved(operator_client, offline_resource):
    run = SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="succeeded",
        drift=1,
        message="In sync.",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    DriftEntry.objects.create(
        resource=offline_resource, object_id=uuid.uuid4(), last_seen_at=timezone.now()
    )
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "In sync" not in page and "1 remote assignment to review" in page
    DriftEntry.objects.all().delete()
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "Succeeded · In sync" in page


def test_retry_failed_entries_from_the_run_page(
    operator_client, offline_resource, fabrikam, queued_tasks, django_capture_on_commit_callbacks
):
    rows = users(offline_resource, fabrikam, 2, sync_state=SyncState.FAILED, last_error="503")
    run = SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="partial",
        failed=2,
        finished_at=timezone.now(),
    )
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "Retry failed entries" in page and "2 assignments of offline-acs are failing" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(reverse("assignments:run_retry_failed", args=[run.pk]))
    queued = SyncRun.objects.get(status="queued")
    assert response.url == reverse("assignments:run", args=[queued.pk])
    assert queued.trigger == "retry-failed" and len(queued_tasks) == 1
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {"pending"}
    event = AuditEvent.objects.get(action="sync.queued")
    assert event.details["entries"] == 2 and event.details["after_run"] == run.pk
    assert {str(r.object_id) for r in rows} == set(event.details["object_ids"])
    # nothing left failing: said, not a second run
    again = operator_client.post(
        reverse("assignments:run_retry_failed", args=[run.pk]), follow=True
    )
    assert "No entry of offline-acs is failing now." in again.content.decode()


# --- lists ----------------------------------------------------------------------------------
def test_sync_runs_list_filters_and_sorts(operator_client, offline_resource):
    ok = SyncRun.objects.create(resource=offline_resource, trigger="periodic", status="succeeded")
    bad = SyncRun.objects.create(
        resource=offline_resource, trigger="manual", status="partial", failed=3
    )
    url = reverse("assignments:runs")
    page = operator_client.get(url, {"status": "partial"}).content.decode()
    assert f"#{bad.pk}<" in page and f"#{ok.pk}<" not in page and "1 run match" in page
    page = operator_client.get(url, {"ordering": "-failed"}).content.decode()
    assert page.index(f"#{bad.pk}<") < page.index(f"#{ok.pk}<")
    assert 'aria-sort="descending"' in page
    assert operator_client.get(url, {"queued_after": "junk", "status": "nope"}).status_code == 200


def test_resources_list_searches_and_sorts_by_assignments(
    operator_client, offline_resource, fabrikam
):
    AcsResource.objects.create(
        name="acs-eu", endpoint="https://eu.invalid", key_env_var="ACS_KEY_EU"
    )
    users(offline_resource, fabrikam, 2)
    url = reverse("assignments:resources")
    page = operator_client.get(url, {"ordering": "-assignments"}).content.decode()
    assert page.index("offline-acs") < page.index("acs-eu") and "2 assignments" in page
    page = operator_client.get(url, {"q": "eu"}).content.decode()
    assert "acs-eu" in page and ">offline-acs<" not in page


def test_assignment_list_sorts_by_name(operator_client, offline_resource, fabrikam):
    users(offline_resource, fabrikam, 3)
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = operator_client.get(url, {"ordering": "-name"}).content.decode()
    assert page.index("User 002") < page.index("User 000")


# --- connect your app -----------------------------------------------------------------------
def test_connect_page_builds_snippets_from_the_settings(
    operator_client, offline_resource, fabrikam, settings
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    settings.ENTRA_HOME_TENANT_ID = ids.CONTOSO_TENANT_ID
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
    url = reverse("assignments:connect", args=[offline_resource.pk])
    page = operator_client.get(url).content.decode()
    assert (
        "AzureCommunicationTokenCredential" in page
        and "EntraCommunicationTokenCredentialOptions" in page
    )
    assert "resourceEndpoint: &quot;https://offline.invalid&quot;" in page
    assert f"clientId: &quot;{ids.OPERATOR_APP_ID}&quot;" in page
    assert "https://communication.azure.com/clients/VoIP" in page
    assert "tenantId: &quot;organizations&quot;" in page  # Fabrikam: a customer tenant
    assert "authorityHost" not in page  # the public cloud is the SDKs' default
    page = operator_client.get(url, {"audience": "single"}).content.decode()
    assert f"tenantId: &quot;{ids.CONTOSO_TENANT_ID}&quot;" in page
    assert f"TenantId = &quot;{ids.CONTOSO_TENANT_ID}&quot;" in page


def test_connect_page_names_a_non_public_authority(operator_client, offline_resource, settings):
    CustomerTenant.objects.all().delete()
    settings.ENTRA_HOME_TENANT_ID = ids.CONTOSO_TENANT_ID
    settings.ENTRA_AUTHORITY_HOST = "https://login.cloudsim.test:8443"
    page = operator_client.get(reverse("assignments:connect", args=[offline_resource.pk]))
    text = page.content.decode()
    assert "authorityHost: &quot;https://login.cloudsim.test:8443&quot;" in text
    assert f"tenantId: &quot;{ids.CONTOSO_TENANT_ID}&quot;" in text  # no customer tenant yet


def test_tenant_impact_summarises_what_a_tenant_action_touches(offline_resource, fabrikam):
    from django.template import Context, Template

    users(offline_resource, fabrikam, 2)
    html = Template("{% load names %}{% tenant_impact tenant %}").render(
        Context({"tenant": fabrikam})
    )
    assert "Fabrikam has 2 assignments: 2 users, on offline-acs (2)." in html
    assert "User 001" in html


def test_one_of_everything_is_said_in_the_singular(operator_client, offline_resource, fabrikam):
    users(offline_resource, fabrikam, 1)
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = operator_client.get(url).content.decode()
    assert "1 assignment in total" in page and "1 assignments" not in page
    text = f"principal_type,object_id,tenant_id,client_ids\ntenant,,{ids.FABRIKAM_TENANT_ID},\n"
    page = upload(operator_client, offline_resource, text).content.decode()
    assert "The row is valid" in page and "Import 1 row<" in page


def test_a_tenant_list_removes_across_resources_in_one_event(
    operator_client, offline_resource, fabrikam, litware
):
    other = AcsResource.objects.create(
        name="acs-eu", endpoint="https://eu.invalid", key_env_var="ACS_KEY_EU"
    )
    users(offline_resource, fabrikam, 2)
    users(other, fabrikam, 3, start=10)
    users(other, litware, 1, start=20)
    url = reverse("assignments:tenant_assignments", args=[fabrikam.pk])
    page = operator_client.get(url).content.decode()
    assert "5 assignments in total" in page and "acs-eu" in page
    page = operator_client.post(url, {"action": "remove", "scope": "matching"}).content.decode()
    assert "offline-acs (2)" in page and "acs-eu (3)" in page
    operator_client.post(url, confirm_fields_of(page))
    assert Assignment.objects.filter(desired="absent").count() == 5
    assert Assignment.objects.get(tenant=litware).desired == "present"
    event = AuditEvent.objects.get(action="assignment.removed")
    assert event.tenant == fabrikam and event.details["resources"] == ["acs-eu", "offline-acs"]
    assert SyncRun.objects.filter(status="queued").count() == 2  # one per resource


def test_a_resource_has_its_own_sync_run_list(operator_client, offline_resource):
    other = AcsResource.objects.create(
        name="acs-eu", endpoint="https://eu.invalid", key_env_var="ACS_KEY_EU"
    )
    mine = SyncRun.objects.create(resource=offline_resource, trigger="manual")
    theirs = SyncRun.objects.create(resource=other, trigger="manual")
    page = operator_client.get(reverse("assignments:resource_runs", args=[offline_resource.pk]))
    text = page.content.decode()
    assert "Sync runs of" in text and f"#{mine.pk}<" in text and f"#{theirs.pk}<" not in text


@pytest.mark.parametrize(
    "route", ["assignments:drift", "assignments:resource_runs", "assignments:connect"]
)
def test_headings_with_the_resources_name_are_whole_sentences_and_escape_it(operator_client, route):
    resource = AcsResource.objects.create(
        name='<img src=x onerror="alert(1)">', endpoint="https://offline.invalid"
    )
    html = operator_client.get(reverse(route, args=[resource.pk])).content.decode()
    heading = html[html.index("<h1>") : html.index("</h1>")]
    link = f'<a href="{reverse("assignments:resource", args=[resource.pk])}">'
    assert link + "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</a>" in heading
    assert "<img" not in heading
