"""The API's contract: problem details, Idempotency-Key, ETag / If-Match, cursor pages, RFC 3339."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from api.models import IdempotencyRecord
from audit.actions import Action
from audit.models import AuditEvent
from tenants.models import CustomerTenant, TenantStatus
from tests.api.conftest import client_with, token_for

NEW_TENANT = {"tenant": "00000000-0000-4000-8000-00000000abcd", "offline": True}


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"urn:acs-portal:problem:{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- problem details -------------------------------------------------------------------------
@pytest.mark.django_db
def test_domain_refusal_is_a_problem_with_the_services_message(api):
    api.post("/api/v1/tenants/", NEW_TENANT, format="json")
    body = _problem(api.post("/api/v1/tenants/", NEW_TENANT, format="json"), 422, "tenant-refused")
    assert "already registered" in body["detail"]
    assert body["instance"] == "/api/v1/tenants/"


@pytest.mark.django_db
def test_validation_lists_every_field(api):
    body = _problem(
        api.post("/api/v1/tenants/", {"offline": "maybe"}, format="json"), 400, "validation"
    )
    assert {e["field"] for e in body["errors"]} == {"tenant", "offline"}


@pytest.mark.django_db
def test_malformed_json_and_unknown_objects(api):
    _problem(
        api.post("/api/v1/tenants/", "{", content_type="application/json"),
        400,
        "malformed-request",
    )
    _problem(api.get("/api/v1/tenants/424242/"), 404, "not-found")
    _problem(api.put("/api/v1/tenants/1/", {}, format="json"), 405, "method-not-allowed")


@pytest.mark.django_db
def test_invalid_transition_is_a_409(api):
    tenant = CustomerTenant.objects.create(tenant_id="00000000-0000-4000-8000-000000000001")
    response = api.post(f"/api/v1/tenants/{tenant.pk}/offboard/", {"step": "finish"}, format="json")
    _problem(response, 409, "invalid-transition")


# --- Idempotency-Key --------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_retried_post_returns_the_first_answer_and_creates_one_tenant(api):
    first = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Location"] == first["Location"] and again["ETag"] == first["ETag"]
    assert again["Idempotent-Replayed"] == "true"
    assert CustomerTenant.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.TENANT_CREATED).count() == 1


@pytest.mark.django_db
def test_a_refusal_is_replayed_too(api):
    api.post("/api/v1/tenants/", NEW_TENANT, format="json")
    first = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    CustomerTenant.objects.all().delete()
    again = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert again.status_code == first.status_code == 422
    assert again["Content-Type"] == "application/problem+json"
    assert not CustomerTenant.objects.exists()


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(api):
    api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    other = {**NEW_TENANT, "tenant": "00000000-0000-4000-8000-00000000ffff"}
    response = api.post("/api/v1/tenants/", other, format="json", HTTP_IDEMPOTENCY_KEY="k3")
    _problem(response, 422, "idempotency-key-reused")
    assert CustomerTenant.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_token(api, admin_user):
    other = client_with(token_for(admin_user))
    api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k4")
    second = {**NEW_TENANT, "tenant": "00000000-0000-4000-8000-00000000ffff"}
    response = other.post("/api/v1/tenants/", second, format="json", HTTP_IDEMPOTENCY_KEY="k4")
    assert response.status_code == 201
    assert CustomerTenant.objects.count() == 2


@pytest.mark.django_db
def test_a_duplicate_while_the_first_runs_is_a_409_with_retry_after(api):
    first = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k5")
    IdempotencyRecord.objects.filter(key="k5").update(completed_at=None)  # as while it ran
    response = api.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="k5")
    _problem(response, 409, "idempotency-in-progress")
    assert response["Retry-After"] == "1"
    assert first.status_code == 201 and CustomerTenant.objects.count() == 1


@pytest.mark.django_db
def test_a_consent_link_replay_does_not_store_or_return_its_url(api, fabrikam):
    url = f"/api/v1/tenants/{fabrikam.pk}/consent-links/"
    first = api.post(url, {"days": 7}, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    again = api.post(url, {"days": 7}, format="json", HTTP_IDEMPOTENCY_KEY="link-1")
    assert first.status_code == again.status_code == 201
    assert "url" in first.json() and "url" not in again.json()
    assert again.json()["id"] == first.json()["id"]
    token = first.json()["url"].rstrip("/").rsplit("/", 1)[-1]
    assert token not in str(IdempotencyRecord.objects.get().body)
    assert fabrikam.consent_links.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_tenant(admin_user):
    secret = token_for(admin_user)
    barrier, answers = threading.Barrier(2), []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        barrier.wait()
        answers.append(
            client.post("/api/v1/tenants/", NEW_TENANT, format="json", HTTP_IDEMPOTENCY_KEY="c1")
        )
        connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes in ([201, 201], [201, 409]), [a.content for a in answers]
    assert CustomerTenant.objects.count() == 1


# --- ETag / If-Match ----------------------------------------------------------------------
@pytest.mark.django_db
def test_get_gives_an_etag_and_if_none_match_a_304(api, fabrikam):
    first = api.get(f"/api/v1/tenants/{fabrikam.pk}/")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert api.get(f"/api/v1/tenants/{fabrikam.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 304


@pytest.mark.django_db
def test_patch_without_if_match_is_428_and_changes_nothing(api, fabrikam):
    response = api.patch(f"/api/v1/tenants/{fabrikam.pk}/", {"notes": "x"}, format="json")
    _problem(response, 428, "precondition-required")
    fabrikam.refresh_from_db()
    assert fabrikam.notes == ""


@pytest.mark.django_db
def test_two_updates_with_the_same_etag_the_second_gets_412(api, fabrikam):
    url = f"/api/v1/tenants/{fabrikam.pk}/"
    etag = api.get(url)["ETag"]
    first = api.patch(url, {"notes": "first"}, format="json", HTTP_IF_MATCH=etag)
    second = api.patch(url, {"notes": "second"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] != etag
    _problem(second, 412, "precondition-failed")
    fabrikam.refresh_from_db()
    assert fabrikam.notes == "first"
    third = api.patch(url, {"notes": "third"}, format="json", HTTP_IF_MATCH=first["ETag"])
    assert third.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_updates_with_the_same_etag_one_wins(admin_user):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SELECT … FOR UPDATE) need PostgreSQL; SQLite has none")
    tenant = CustomerTenant.objects.create(
        tenant_id="00000000-0000-4000-8000-0000000000aa", status=TenantStatus.VERIFIED
    )
    secret = token_for(admin_user)
    url = f"/api/v1/tenants/{tenant.pk}/"
    etag = client_with(secret).get(url)["ETag"]
    barrier, answers = threading.Barrier(2), []

    def patch(notes):
        client = client_with(secret)
        barrier.wait()
        answers.append(client.patch(url, {"notes": notes}, format="json", HTTP_IF_MATCH=etag))
        connection.close()

    threads = [threading.Thread(target=patch, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 412]
    assert AuditEvent.objects.filter(action=Action.TENANT_UPDATED).count() == 1


# --- cursor pages and timestamps ----------------------------------------------------------
@pytest.mark.django_db
def test_cursor_pages_follow_next_links_to_the_end(api):
    for i in range(7):
        CustomerTenant.objects.create(tenant_id=f"00000000-0000-4000-8000-{i:012d}")
    seen, url = [], "/api/v1/tenants/?page_size=3"
    while url:
        page = api.get(url).json()
        seen += [t["id"] for t in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(CustomerTenant.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.django_db
def test_audit_events_page_by_keyset_cursor(api):
    for i in range(60):
        CustomerTenant.objects.create(tenant_id=f"00000000-0000-4000-8000-{i:012d}")
        api.post("/api/v1/tenants/", {"tenant": f"00000000-0000-4000-9000-{i:012d}",
                                      "offline": True}, format="json")  # fmt: skip
    first = api.get("/api/v1/audit-events/?action=tenant.created").json()
    assert len(first["results"]) == 50 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 10 and second["next"] is None
    ids = [e["id"] for e in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 60
    _problem(api.get("/api/v1/audit-events/?cursor=garbage"), 400, "validation")


@pytest.mark.django_db
def test_timestamps_are_rfc3339_utc(api, fabrikam):
    body = api.get(f"/api/v1/tenants/{fabrikam.pk}/").json()
    assert body["created_at"].endswith("Z") and "T" in body["created_at"]


@pytest.mark.django_db
def test_a_bug_is_a_problem_without_its_details(api, monkeypatch, caplog):
    from tenants.actions import registration

    def broken(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(registration, "register_tenant", broken)
    response = api.post("/api/v1/tenants/", NEW_TENANT, format="json")
    body = _problem(response, 500, "server-error")
    assert "secret internals" not in response.content.decode()
    assert body["request_id"]
    assert "secret internals" in caplog.text  # the log has the traceback
