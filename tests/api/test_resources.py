"""Each resource of the API does what its page does, through the same services."""

from __future__ import annotations

import uuid

import pytest

from api.models import Scope
from assignments.models import Assignment, Desired, SyncRun
from audit.actions import Action
from audit.models import AuditEvent
from cloudsim import ids
from tenants.models import ConsentLink, CustomerTenant, TenantStatus
from tests.api.conftest import client_with, token_for

pytestmark = pytest.mark.django_db


def _etag(api, url: str) -> str:
    return api.get(url)["ETag"]


# --- tenants ------------------------------------------------------------------------------
def test_register_offline_get_and_list_with_filters(api):
    made = api.post(
        "/api/v1/tenants/",
        {"tenant": ids.FABRIKAM_TENANT_ID, "display_name": "Fabrikam", "offline": True},
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["status"] == "registered"
    assert api.get(made["Location"]).json()["display_name"] == "Fabrikam"
    CustomerTenant.objects.create(
        tenant_id=uuid.uuid4(), display_name="Litware", status=TenantStatus.VERIFIED
    )

    def names(query):
        return [t["display_name"] for t in api.get(f"/api/v1/tenants/?{query}").json()["results"]]

    assert names("status=verified") == ["Litware"]
    assert names("q=fabri") == ["Fabrikam"]
    assert names(f"q={ids.FABRIKAM_TENANT_ID}") == ["Fabrikam"]
    assert sorted(names("")) == ["Fabrikam", "Litware"]
    assert api.get("/api/v1/tenants/?status=nonsense").status_code == 400


def test_register_by_domain_asks_entra_id(api, microsoft):
    made = api.post("/api/v1/tenants/", {"tenant": ids.FABRIKAM_DOMAIN}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["tenant_id"] == ids.FABRIKAM_TENANT_ID
    unknown = api.post("/api/v1/tenants/", {"tenant": "nobody.invalid"}, format="json")
    assert unknown.status_code == 422


def test_edit_keeps_the_typed_name(api, fabrikam):
    url = f"/api/v1/tenants/{fabrikam.pk}/"
    response = api.patch(
        url, {"display_name": "Fabrikam Ltd"}, format="json", HTTP_IF_MATCH=_etag(api, url)
    )
    assert response.status_code == 200 and response.json()["display_name"] == "Fabrikam Ltd"
    fabrikam.refresh_from_db()
    assert fabrikam.name_from_operator and fabrikam.notes == ""


def test_verify_now_queues_a_check(api, fabrikam, queued_tasks):
    response = api.post(f"/api/v1/tenants/{fabrikam.pk}/verify/")
    assert response.status_code == 202
    assert {"verify": (fabrikam.pk, "manual")} in queued_tasks


def test_verify_needs_a_consent_link_first(api):
    tenant = CustomerTenant.objects.create(tenant_id=uuid.uuid4())
    assert api.post(f"/api/v1/tenants/{tenant.pk}/verify/").status_code == 409


def test_offboard_start_finish_then_delete(api, fabrikam, offline_resource, settings):
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=fabrikam.tenant_id,
        client_ids=[settings.ENTRA_CLIENT_ID],
    )
    url = f"/api/v1/tenants/{fabrikam.pk}/"
    started = api.post(url + "offboard/", {"step": "start"}, format="json")
    assert started.json()["status"] == "offboarding"
    assert Assignment.objects.get().desired == Desired.ABSENT
    refused = api.post(url + "offboard/", {"step": "finish"}, format="json")
    assert refused.status_code == 422 and "still being removed" in refused.json()["detail"]
    Assignment.objects.all().delete()  # what the sync does once ACS has removed it
    assert api.post(url + "offboard/", {"step": "finish"}, format="json").status_code == 200
    assert api.delete(url, HTTP_IF_MATCH=_etag(api, url)).status_code == 204
    assert not CustomerTenant.objects.exists()
    assert AuditEvent.objects.filter(action=Action.TENANT_DELETED).exists()


# --- consent links ------------------------------------------------------------------------
def test_issue_a_link_its_url_is_returned_once(api, fabrikam):
    url = f"/api/v1/tenants/{fabrikam.pk}/consent-links/"
    made = api.post(url, {"level": "standard", "days": 3, "admin_email": "a@f.example"})
    assert made.status_code == 415  # not JSON: the API reads JSON only
    made = api.post(
        url, {"level": "standard", "days": 3, "admin_email": "a@f.example"}, format="json"
    )
    assert made.status_code == 201 and made["Cache-Control"] == "no-store"
    body = made.json()
    assert body["url"].startswith("http") and body["level"] == "standard"
    assert body["version"] == "v2"  # a standard link always asks the v2 endpoint
    listed = api.get(url).json()["results"]
    assert [link["id"] for link in listed] == [body["id"]] and "url" not in listed[0]
    single = api.get(f"/api/v1/consent-links/{body['id']}/").json()
    assert "url" not in single and single["unavailable_reason"] == ""


def test_a_link_longer_than_90_days_is_refused(api, fabrikam):
    url = f"/api/v1/tenants/{fabrikam.pk}/consent-links/"
    assert api.post(url, {"days": 91}, format="json").status_code == 400
    assert not ConsentLink.objects.exists()


def test_revoke_a_link(api, fabrikam):
    made = api.post(f"/api/v1/tenants/{fabrikam.pk}/consent-links/", {}, format="json").json()
    revoked = api.post(f"/api/v1/consent-links/{made['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["unavailable_reason"] == "revoked"
    again = api.post(f"/api/v1/consent-links/{made['id']}/revoke/")
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action=Action.CONSENT_LINK_REVOKED).count() == 1


# --- customer groups ----------------------------------------------------------------------
def test_groups_list_add_from_graph_and_remove(api, fabrikam, microsoft):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    fabrikam.groups.all().delete()
    url = f"/api/v1/tenants/{fabrikam.pk}/groups/"
    added = api.post(url, {"object_id": ids.FABRIKAM_SALES_GROUP}, format="json")
    assert added.status_code == 201, added.content
    assert added.json()["display_name"] == "Sales"
    assert [g["object_id"] for g in api.get(url).json()["results"]] == [ids.FABRIKAM_SALES_GROUP]
    missing = api.post(url, {"object_id": str(uuid.uuid4())}, format="json")
    assert missing.status_code == 422
    group = f"/api/v1/customer-groups/{added.json()['id']}/"
    assert api.delete(group).status_code == 428
    assert api.delete(group, HTTP_IF_MATCH=_etag(api, group)).status_code == 204
    assert not fabrikam.groups.exists()


# --- ACS resources, assignments, syncs, access check ----------------------------------------
def test_resources_read_and_test_connection(api, acs_resource):
    listed = api.get("/api/v1/acs-resources/").json()["results"]
    assert [r["name"] for r in listed] == [ids.CONTOSO_ACS]
    assert "key_env_var" not in listed[0]
    tested = api.post(f"/api/v1/acs-resources/{acs_resource.pk}/test-connection/")
    assert tested.status_code == 200 and tested.json()["ok"] is True


def test_assignment_create_read_update_delete(api, fabrikam, offline_resource, settings):
    made = api.post(
        "/api/v1/assignments/",
        {
            "resource": offline_resource.pk,
            "tenant": fabrikam.pk,
            "principal_type": "group",
            "object_id": ids.FABRIKAM_SALES_GROUP,
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["client_ids"] == [settings.ENTRA_CLIENT_ID]
    url = made["Location"]
    other = str(uuid.uuid4())
    changed = api.patch(url, {"client_ids": [other]}, format="json", HTTP_IF_MATCH=made["ETag"])
    assert changed.status_code == 200 and changed.json()["client_ids"] == [other]
    stale = api.delete(url, HTTP_IF_MATCH=made["ETag"])
    assert stale.status_code == 412
    removed = api.delete(url, HTTP_IF_MATCH=changed["ETag"])
    assert removed.status_code == 200 and removed.json()["desired"] == "absent"
    listed = api.get(f"/api/v1/assignments/?resource={offline_resource.pk}&sync_state=absent")
    assert [a["id"] for a in listed.json()["results"]] == [made.json()["id"]]


def test_assigning_an_unverified_tenant_needs_the_override(api, offline_resource):
    tenant = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), status=TenantStatus.INVITED)
    body = {"resource": offline_resource.pk, "tenant": tenant.pk, "principal_type": "tenant"}
    refused = api.post("/api/v1/assignments/", body, format="json")
    assert refused.status_code == 422 and "not verified" in refused.json()["detail"]
    made = api.post("/api/v1/assignments/", {**body, "override": True}, format="json")
    assert made.status_code == 201 and made.json()["override_unverified"] is True


def test_bulk_create_is_all_or_nothing_and_lists_every_bad_item(api, fabrikam, offline_resource):
    url = f"/api/v1/acs-resources/{offline_resource.pk}/assignments/bulk-create/"
    good = {"principal_type": "user", "tenant_id": ids.FABRIKAM_TENANT_ID}
    items = [
        {**good, "object_id": str(uuid.uuid4())},
        {**good, "object_id": "not-a-guid"},
        {**good, "object_id": str(uuid.uuid4())},
        {**good, "tenant_id": str(uuid.uuid4()), "object_id": str(uuid.uuid4())},
    ]
    refused = api.post(url, {"items": items}, format="json")
    assert refused.status_code == 422
    body = refused.json()
    assert body["type"] == "urn:acs-portal:problem:bulk-rejected"
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert (
        "not a" in body["errors"][0]["detail"] and "not registered" in body["errors"][1]["detail"]
    )
    assert not Assignment.objects.exists()


def test_bulk_create_and_remove_ten_thousand(api, fabrikam, offline_resource):
    oids = [str(uuid.uuid4()) for _ in range(10_000)]
    items = [
        {"principal_type": "user", "tenant_id": ids.FABRIKAM_TENANT_ID, "object_id": o}
        for o in oids
    ]
    base = f"/api/v1/acs-resources/{offline_resource.pk}/assignments/"
    made = api.post(base + "bulk-create/", {"items": items}, format="json")
    assert made.status_code == 200, made.content[:500]
    assert made.json()["added"] == 10_000 and Assignment.objects.count() == 10_000
    assert AuditEvent.objects.filter(action=Action.ASSIGNMENT_IMPORTED).count() == 1
    too_many = api.post(base + "bulk-create/", {"items": items + items[:1]}, format="json")
    assert too_many.status_code == 400
    gone = [{**item, "object_id": item["object_id"]} for item in items[:500]]
    bad = {"principal_type": "user", "tenant_id": ids.FABRIKAM_TENANT_ID, "object_id": "x"}
    refused = api.post(base + "bulk-remove/", {"items": [gone[0], bad]}, format="json")
    assert refused.status_code == 422 and [e["index"] for e in refused.json()["errors"]] == [1]
    assert not Assignment.objects.filter(desired=Desired.ABSENT).exists()
    never = {**gone[0], "object_id": str(uuid.uuid4())}  # not assigned: nothing to remove
    removed = api.post(base + "bulk-remove/", {"items": [*gone, never]}, format="json")
    assert removed.status_code == 200, removed.content[:300]
    assert removed.json()["removed"] == 500 and removed.json()["unchanged"] == 1
    assert Assignment.objects.filter(desired=Desired.ABSENT).count() == 500


def test_sync_now_and_its_run(api, offline_resource):
    response = api.post(f"/api/v1/acs-resources/{offline_resource.pk}/sync/")
    assert response.status_code == 202
    run = SyncRun.objects.get()
    assert response.json()["id"] == run.pk and response.json()["status"] == "queued"
    got = api.get(response["Location"]).json()
    assert got["progress_percent"] == 0 and got["errors"] == []
    listed = api.get(f"/api/v1/sync-runs/?resource={offline_resource.pk}&status=queued")
    assert [r["id"] for r in listed.json()["results"]] == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_access_check_gives_the_pages_explanation_as_data(api, sales_assigned, fabrikam):
    acs_resource = sales_assigned
    query = {"resource": acs_resource.pk, "tenant": fabrikam.pk}
    yes = api.get("/api/v1/access-check/", {**query, "user": "adele@fabrikam.example"}).json()
    assert yes["has_access"] is True and yes["user_name"]
    checks = {f["check"]: f["ok"] for f in yes["findings"]}
    assert checks["Tenant verified"] and checks["Group membership"]
    assert checks["Synced to the resource"]
    assert yes["granting"] == [Assignment.objects.get().pk]
    no = api.get("/api/v1/access-check/", {**query, "user": "alex@fabrikam.example"}).json()
    assert no["has_access"] is False
    assert api.get("/api/v1/access-check/", {"user": "x"}).status_code == 400
    assert AuditEvent.objects.filter(action=Action.ACCESS_CHECKED).count() == 2


def test_audit_events_filter_get_and_export(api, fabrikam):
    api.post(f"/api/v1/tenants/{fabrikam.pk}/consent-links/", {}, format="json")
    listed = api.get("/api/v1/audit-events/?action=consent.").json()["results"]
    assert [e["action"] for e in listed] == ["consent.link_created"]
    event = api.get(f"/api/v1/audit-events/{listed[0]['id']}/").json()
    assert event["details"]["link"] and event["details"]["api_access"]["prefix"]
    assert api.get("/api/v1/audit-events/?since=yesterday").status_code == 400
    csv = api.get("/api/v1/audit-events/export.csv/?action=consent.")
    assert csv["Content-Type"].startswith("text/csv")
    text = b"".join(csv.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,at,") and "consent.link_created" in text
    jsonl = api.get("/api/v1/audit-events/export.jsonl/")
    lines = b"".join(jsonl.streaming_content).decode().splitlines()
    assert all(line.startswith("{") for line in lines) and lines
    assert AuditEvent.objects.filter(action=Action.AUDIT_EXPORTED).count() == 2


def test_nobody_writes_to_the_audit_log(api):
    assert api.post("/api/v1/audit-events/", {}, format="json").status_code == 403


def test_an_auditor_token_reads(auditor_user, fabrikam):
    auditor = client_with(token_for(auditor_user, Scope.READ))
    assert auditor.get(f"/api/v1/tenants/{fabrikam.pk}/").status_code == 200


def test_an_unknown_api_path_is_a_problem(api, client):
    for response in (api.get("/api/v1/nothing/"), client.post("/api/v1/tenants")):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"


def test_access_check_of_unknown_ids_is_a_404(api):
    response = api.get("/api/v1/access-check/", {"resource": 999, "tenant": 999, "user": "x"})
    assert response.status_code == 404


def test_docs_are_a_signed_in_page_with_assets_from_the_portal(auditor_client):
    from django.test import Client

    assert Client().get("/api/v1/docs/")["Location"].startswith("/accounts/login/")
    page = auditor_client.get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "<style" not in html and "<script>" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = auditor_client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and b"/api/v1/schema/" in script.content
    csp = page["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert (
        auditor_client.get(
            "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"
        ).status_code
        == 200
    )


def test_audit_events_carry_the_entra_tenant_id_and_take_any_known_action(api, fabrikam):
    """The rows name the tenant by its Entra GUID, as the CSV does, and a filter on an action
    that has not occurred yet is an empty page, not a refusal (the page offers only occurring
    actions; an automation may ask ahead)."""
    api.post(f"/api/v1/tenants/{fabrikam.pk}/consent-links/", {}, format="json")
    listed = api.get("/api/v1/audit-events/", {"tenant": str(fabrikam.tenant_id)}).json()
    assert listed["results"]
    assert {e["tenant_id"] for e in listed["results"]} == {str(fabrikam.tenant_id)}
    assert {e["tenant_name"] for e in listed["results"]} == {fabrikam.display_name}
    never = api.get("/api/v1/audit-events/", {"action": "tenant.offboarded"})
    assert never.status_code == 200 and never.json()["results"] == []
    assert api.get("/api/v1/audit-events/", {"action": "no.such"}).status_code == 400
