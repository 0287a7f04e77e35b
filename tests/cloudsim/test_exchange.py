"""Token exchange: allowed for a consented, assigned user whose app is in clientIds; else 403."""

from __future__ import annotations

import jwt
import pytest

from cloudsim import ids

from .conftest import ACS_API, user_token

OTHER_APP = "99999999-0000-4000-8000-000000000099"


def assign(cs, object_id, kind, clients=(ids.OPERATOR_APP_ID,), tenant=ids.FABRIKAM_TENANT_ID):
    cs.admin(
        "POST",
        f"/acs/{ids.CONTOSO_ACS}/assignments",
        {
            "objectId": object_id,
            "tenantId": tenant,
            "principalType": kind,
            "clientIds": list(clients),
        },
    )


def exchange(cs, http, token):
    endpoint = cs.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    return http.post(
        f"{endpoint}/access/entra/:exchangeAccessToken?{ACS_API}",
        json={},
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def consented(cs):
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    return cs


@pytest.mark.parametrize(
    ("object_id", "kind"),
    [
        (ids.FABRIKAM_ADELE, "user"),
        (ids.FABRIKAM_SALES_GROUP, "group"),
        (ids.FABRIKAM_TENANT_ID, "tenant"),
    ],
)
def test_allowed(consented, http, object_id, kind):
    cs = consented
    assign(cs, object_id, kind)
    token = user_token(cs, http, "adele@fabrikam.example")
    r = exchange(cs, http, token)
    assert r.status_code == 200, r.text
    resource_id = cs.acs_resources[ids.CONTOSO_ACS]["resource_id"]
    assert r.json()["identity"]["id"] == (
        f"8:acs:{resource_id}_wf_{ids.FABRIKAM_TENANT_ID}_{ids.FABRIKAM_ADELE}"
    )
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    from datetime import datetime

    assert int(datetime.fromisoformat(r.json()["accessToken"]["expiresOn"]).timestamp()) == exp


def test_not_assigned(consented, http):
    assign(consented, ids.FABRIKAM_ALEX, "user")
    r = exchange(consented, http, user_token(consented, http, "adele@fabrikam.example"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "UserNotAssigned"


def test_wrong_client_id(consented, http):
    assign(consented, ids.FABRIKAM_ADELE, "user", clients=[OTHER_APP])
    r = exchange(consented, http, user_token(consented, http, "adele@fabrikam.example"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "ClientNotAllowed"


def test_group_not_assigned_to_enterprise_app(consented, http):
    cs = consented
    assign(cs, ids.FABRIKAM_SALES_GROUP, "group")
    cs.admin(
        "DELETE",
        f"/tenants/{ids.FABRIKAM_TENANT_ID}/acs-clients-sp/assignments/{ids.FABRIKAM_SALES_GROUP}",
    )
    r = exchange(cs, http, user_token(cs, http, "megan@fabrikam.example"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "GroupNotAssignedToApplication"


def test_tenant_consent_revoked_after_token_issued(consented, http):
    cs = consented
    assign(cs, ids.FABRIKAM_ADELE, "user")
    token = user_token(cs, http, "adele@fabrikam.example")
    cs.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    r = exchange(cs, http, token)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "TenantNotConsented"


def test_bad_tokens_are_401(consented, http):
    assert exchange(consented, http, "not-a-jwt").status_code == 401
    graph_token = user_token(consented, http, "adele@fabrikam.example", "User.Read")
    assert exchange(consented, http, graph_token).status_code == 401


def test_an_undeclared_query_parameter_is_refused_before_the_token_is_looked_at(consented, http):
    assign(consented, ids.FABRIKAM_ADELE, "user")
    token = user_token(consented, http, "adele@fabrikam.example")
    endpoint = consented.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    r = http.post(
        f"{endpoint}/access/entra/:exchangeAccessToken?{ACS_API}&scopes=voip",
        json={},
        headers={"Authorization": f"Bearer {token}", "x-ms-client-request-id": "c-1"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidParameter"
    assert r.headers["x-ms-client-request-id"] == "c-1" and r.headers["x-ms-request-id"]
    assert exchange(consented, http, token).status_code == 200
