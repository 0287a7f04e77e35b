"""ACS Entra assignments: HMAC verified for real, CRUD, merge-patch, paging."""

from __future__ import annotations

import json
from email.utils import formatdate

import pytest

from cloudsim import ids

from .conftest import ACS_API, acs_call, sign

A = "/access/entra/assignments"


def entry(tenant=ids.FABRIKAM_TENANT_ID, kind="user", clients=(ids.OPERATOR_APP_ID,)):
    return {"tenantId": tenant, "principalType": kind, "clientIds": list(clients)}


def put(http, cs, oid, body):
    return acs_call(
        http,
        cs,
        "PUT",
        f"{A}/{oid}?{ACS_API}",
        json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )


def test_empty_body_hash_matches_spec_vector():
    assert sign("GET", "https://h/x", "AAAA")["x-ms-content-sha256"] == (
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    )


def test_put_get_replace_delete_round_trip(cs, http):
    created = put(http, cs, ids.FABRIKAM_ADELE, entry())
    assert created.status_code == 201
    assert created.json() == {"objectId": ids.FABRIKAM_ADELE, **entry()}
    replaced = put(http, cs, ids.FABRIKAM_ADELE, entry(clients=[ids.OPERATOR_APP_ID] * 1))
    assert replaced.status_code == 200
    got = acs_call(http, cs, "GET", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}")
    assert got.json()["principalType"] == "user"
    assert acs_call(http, cs, "DELETE", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}").status_code == 204
    gone = acs_call(http, cs, "DELETE", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "NotFound"
    assert cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"] == []


def test_resources_are_separate(cs, http):
    put(http, cs, ids.FABRIKAM_ADELE, entry())
    other = acs_call(http, cs, "GET", f"{A}?{ACS_API}", resource=ids.CONTOSO_ACS_EU)
    assert other.json()["value"] == []


def test_validation(cs, http):
    bad = put(http, cs, ids.FABRIKAM_ADELE, {"tenantId": ids.FABRIKAM_TENANT_ID})
    assert bad.status_code == 400
    assert "principalType" in bad.json()["error"]["message"]
    tenant_mismatch = put(http, cs, ids.FABRIKAM_ADELE, entry(kind="tenant"))
    assert tenant_mismatch.status_code == 400


def test_merge_patch_upserts_and_deletes(cs, http):
    put(http, cs, ids.FABRIKAM_ALEX, entry())
    body = json.dumps(
        {
            ids.FABRIKAM_ADELE: entry(),
            ids.FABRIKAM_SALES_GROUP: entry(kind="group"),
            ids.FABRIKAM_ALEX: None,
        }
    ).encode()
    wrong_type = acs_call(
        http, cs, "PATCH", f"{A}?{ACS_API}", body, headers={"Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 415
    r = acs_call(
        http,
        cs,
        "PATCH",
        f"{A}?{ACS_API}",
        body,
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    assert {a["objectId"] for a in r.json()["value"]} == {
        ids.FABRIKAM_ADELE,
        ids.FABRIKAM_SALES_GROUP,
    }
    remote = {
        a["objectId"] for a in cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    }
    assert remote == {ids.FABRIKAM_ADELE, ids.FABRIKAM_SALES_GROUP}


def test_invalid_patch_entry_applies_nothing(cs, http):
    body = json.dumps({ids.FABRIKAM_ADELE: entry(), ids.FABRIKAM_ALEX: {"principalType": "x"}})
    r = acs_call(
        http,
        cs,
        "PATCH",
        f"{A}?{ACS_API}",
        body.encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 400
    assert cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"] == []


def test_list_pages_with_absolute_next_link(cs, http):
    seeded = [{"objectId": f"00000000-0000-4000-8000-{i:012d}", **entry()} for i in range(250)]
    cs.admin("POST", f"/acs/{ids.CONTOSO_ACS}/assignments", {"value": seeded})
    endpoint = cs.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    url, seen, pages = f"{endpoint}{A}?{ACS_API}", [], 0
    while url:
        headers = sign("GET", url, cs.acs_resources[ids.CONTOSO_ACS]["access_key"])
        body = http.get(url, headers=headers).json()
        seen += [a["objectId"] for a in body["value"]]
        url = body.get("nextLink")
        pages += 1
    assert pages == 3
    assert seen == sorted(a["objectId"] for a in seeded)


def test_api_version_is_required(cs, http):
    r = acs_call(http, cs, "GET", A)
    assert r.status_code == 400


@pytest.mark.parametrize("tamper", ["key", "body", "date", "path", "host", "missing"])
def test_tampered_hmac_is_401(cs, http, tamper):
    res = cs.acs_resources[ids.CONTOSO_ACS]
    url = f"{res['endpoint']}{A}/{ids.FABRIKAM_ADELE}?{ACS_API}"
    body = json.dumps(entry()).encode()
    key = res["access_key"]
    date = None
    if tamper == "key":
        key = cs.acs_resources[ids.CONTOSO_ACS_EU]["access_key"]
    if tamper == "date":
        date = formatdate(timeval=__import__("time").time() - 600, usegmt=True)
    signed_url = url.replace(ids.FABRIKAM_ADELE, ids.FABRIKAM_ALEX) if tamper == "path" else url
    if tamper == "host":
        signed_url = signed_url.replace("127.0.0.1", "localhost")
    headers = sign("PUT", signed_url, key, body, date)
    if tamper == "missing":
        headers.pop("Authorization")
    sent = body.replace(b"user", b"group") if tamper == "body" else body
    r = http.put(url, content=sent, headers=headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["message"]
    assert cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"] == []


def test_bearer_app_token_of_home_tenant_is_accepted(cs, http):
    from .conftest import app_token

    token = app_token(cs, http, ids.CONTOSO_TENANT_ID, "https://communication.azure.com")
    endpoint = cs.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    r = http.get(f"{endpoint}{A}?{ACS_API}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    graph_token = app_token(cs, http, ids.CONTOSO_TENANT_ID)
    r = http.get(f"{endpoint}{A}?{ACS_API}", headers={"Authorization": f"Bearer {graph_token}"})
    assert r.status_code == 401


def merge_patch(http, cs, changes):
    return acs_call(
        http,
        cs,
        "PATCH",
        f"{A}?{ACS_API}",
        json.dumps(changes).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{A}?{ACS_API}&maxPageSize=1000"),
        ("GET", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}&$select=objectId"),
        ("DELETE", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}&force=true"),
    ],
)
def test_undeclared_query_parameters_are_refused_in_the_communication_error_shape(
    cs, http, method, path
):
    r = acs_call(http, cs, method, path)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "InvalidParameter" and "is not supported" in error["message"]


def test_merge_patch_entries_must_be_full_as_the_spec_declares(cs, http):
    put(http, cs, ids.FABRIKAM_ADELE, entry())
    partial = merge_patch(http, cs, {ids.FABRIKAM_ADELE: {"clientIds": [ids.FABRIKAM_TENANT_ID]}})
    assert partial.status_code == 400
    assert "'tenantId' is required" in partial.json()["error"]["message"]
    remote = cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    assert remote == [{"objectId": ids.FABRIKAM_ADELE, **entry()}]


def test_every_answer_carries_a_request_id_and_echoes_the_clients(cs, http):
    put(http, cs, ids.FABRIKAM_ADELE, entry())
    ok = acs_call(
        http,
        cs,
        "GET",
        f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}",
        headers={"x-ms-client-request-id": "c-42"},
    )
    missing = acs_call(http, cs, "GET", f"{A}/{ids.FABRIKAM_ALEX}?{ACS_API}")
    assert ok.status_code == 200 and ok.headers["x-ms-client-request-id"] == "c-42"
    assert len(ok.headers["x-ms-request-id"]) == 36
    assert missing.status_code == 404 and missing.headers["x-ms-request-id"]
    assert "x-ms-client-request-id" not in missing.headers


def test_the_sdk_double_slash_scope_gets_an_app_token_without_an_empty_roles_claim(cs, http):
    import jwt

    from .conftest import app_token

    endpoint = cs.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    for resource in ("https://communication.azure.com/", "https://communication.azure.com"):
        token = app_token(cs, http, ids.CONTOSO_TENANT_ID, resource)
        claims = jwt.decode(token, options={"verify_signature": False})
        assert "roles" not in claims and claims["idtyp"] == "app"
        r = http.get(f"{endpoint}{A}?{ACS_API}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text


def test_bearer_access_is_authorized_by_an_azure_role_on_the_resource(cs, http):
    from .conftest import app_token

    token = app_token(cs, http, ids.CONTOSO_TENANT_ID, "https://communication.azure.com/")
    endpoint = cs.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    holders = cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/role-assignments")["value"]
    assert holders == [ids.CONTOSO_OPERATOR_SP]
    cs.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/role-assignments/{ids.CONTOSO_OPERATOR_SP}")
    denied = http.get(f"{endpoint}{A}?{ACS_API}", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    assert "has no Azure role on this resource" in denied.json()["error"]["message"]
    other = cs.acs_resources[ids.CONTOSO_ACS_EU]["endpoint"]
    still = http.get(f"{other}{A}?{ACS_API}", headers={"Authorization": f"Bearer {token}"})
    assert still.status_code == 200  # the role is per resource
    cs.admin(
        "POST", f"/acs/{ids.CONTOSO_ACS}/role-assignments", {"principalId": ids.CONTOSO_OPERATOR_SP}
    )
    again = http.get(f"{endpoint}{A}?{ACS_API}", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200
