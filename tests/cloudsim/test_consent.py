"""Admin consent: the page, the redirects Entra sends, and what approving creates."""

from __future__ import annotations

from urllib.parse import parse_qs, parse_qsl, urlsplit

import jwt
import pytest

from cloudsim import ids

from .conftest import app_token, user_token

CALLBACK = "http://127.0.0.1:8000/consent/callback/"


def consent_url(cs, tenant: str, *, v2: bool = False, redirect_uri: str = CALLBACK, **extra):
    path = "v2.0/adminconsent" if v2 else "adminconsent"
    params = {"client_id": ids.OPERATOR_APP_ID, "redirect_uri": redirect_uri, "state": "s-42"}
    return f"{cs.login_url}/{tenant}/{path}", params | extra


def answer(cs, http, tenant: str, user: str, action: str, **kw):
    url, params = consent_url(cs, tenant, **kw)
    r = http.post(url, params=params, data={"user": user, "action": action})
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith(kw.get("redirect_uri", CALLBACK) + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_page_lists_permissions_and_tenant_users(cs, http):
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID)
    r = http.get(url, params=params)
    assert r.status_code == 200
    assert "Contoso Communicator" in r.text
    assert "VoIP.Join" in r.text
    assert "admin@fabrikam.example" in r.text
    assert "ops@contoso.example" not in r.text


def test_approve_v1_redirects_and_creates_sp_and_grant(cs, http):
    params = answer(cs, http, ids.FABRIKAM_TENANT_ID, "admin@fabrikam.example", "approve")
    assert params == {"admin_consent": "True", "tenant": ids.FABRIKAM_TENANT_ID, "state": "s-42"}
    token = app_token(cs, http, ids.FABRIKAM_TENANT_ID)
    auth = {"Authorization": f"Bearer {token}"}
    sps = http.get(
        f"{cs.graph_base_url}/servicePrincipals",
        params={"$filter": f"appId eq '{ids.OPERATOR_APP_ID}'"},
        headers=auth,
    ).json()["value"]
    assert len(sps) == 1
    grants = http.get(
        f"{cs.graph_base_url}/oauth2PermissionGrants",
        params={
            "$filter": f"clientId eq '{sps[0]['id']}' and resourceId eq "
            f"'{ids.FABRIKAM_ACS_CLIENTS_SP}'"
        },
        headers=auth,
    ).json()["value"]
    assert [(g["consentType"], g["scope"]) for g in grants] == [("AllPrincipals", "VoIP VoIP.Join")]


def test_approve_v2_echoes_scope(cs, http):
    scope = "https://graph.microsoft.com/.default"
    params = answer(
        cs, http, "fabrikam.example", "admin@fabrikam.example", "approve", v2=True, scope=scope
    )
    assert params == {
        "admin_consent": "True",
        "tenant": ids.FABRIKAM_TENANT_ID,
        "scope": scope,
        "state": "s-42",
    }


def test_decline_has_the_shape_recorded_from_real_entra(cs, http):
    # MicrosoftDocs/azure-docs issue 114009: admin_consent=True beside the error, error_uri,
    # CRLF trace lines, no tenant and no error_subcode.
    url, params = consent_url(cs, ids.LITWARE_TENANT_ID)
    r = http.post(url, params=params, data={"user": "admin@litware.example", "action": "decline"})
    query = urlsplit(r.headers["location"]).query
    assert [k for k, _ in parse_qsl(query)] == [
        "error",
        "error_description",
        "error_uri",
        "admin_consent",
        "state",
    ]
    back = dict(parse_qsl(query))
    assert back["error"] == "access_denied" and back["admin_consent"] == "True"
    assert back["error_uri"] == "https://login.microsoftonline.com/error?code=65004"
    lines = back["error_description"].split("\r\n")
    assert lines[0] == "AADSTS65004: User declined to consent to access the app."
    assert [line.split(":")[0] for line in lines[1:]] == ["Trace ID", "Correlation ID", "Timestamp"]
    assert "%0D%0A" in query.upper() and back["state"] == "s-42"


def test_litware_page_preselects_decline(cs, http):
    url, params = consent_url(cs, ids.LITWARE_TENANT_ID)
    html = http.get(url, params=params).text
    assert '<button autofocus type="submit" name="action" value="decline">' in html


def test_missing_acs_clients_sp_is_650052_and_creates_nothing(cs, http):
    params = answer(cs, http, ids.NORTHWIND_TENANT_ID, "admin@northwind.example", "approve")
    assert params["error"] == "invalid_client" and params["admin_consent"] == "True"
    assert params["tenant"] == ids.NORTHWIND_TENANT_ID
    assert params["error_description"].startswith(
        f"AADSTS650052: The app is trying to access a service '{ids.ACS_CLIENTS_APP_ID}'"
        f"(Azure Communication Services Clients) that your organization "
        f"'{ids.NORTHWIND_TENANT_ID}' lacks a service principal for."
    )
    r = http.post(
        f"{cs.login_url}/{ids.NORTHWIND_TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ids.OPERATOR_APP_ID,
            "client_secret": ids.OPERATOR_APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert r.json()["error_codes"] == [7000229]


@pytest.mark.parametrize("user", ["megan@fabrikam.example", "appadmin@fabrikam.example"])
def test_user_who_may_not_grant_graph_app_roles_gets_90094(cs, http, user):
    params = answer(cs, http, ids.FABRIKAM_TENANT_ID, user, "approve")
    assert params["error"] == "access_denied" and params["admin_consent"] == "True"
    assert params["error_description"].startswith("AADSTS90094:")
    assert "error_subcode" not in params and "tenant" not in params
    assert params["error_uri"].endswith("?code=90094")


ACS_SCOPES = f"{ids.ACS_CLIENTS_RESOURCE}/VoIP {ids.ACS_CLIENTS_RESOURCE}/VoIP.Join"


@pytest.mark.parametrize("user", ["appadmin@fabrikam.example", "admin@fabrikam.example"])
def test_an_application_admin_may_grant_the_acs_clients_delegated_scopes(cs, http, user):
    params = answer(cs, http, ids.FABRIKAM_TENANT_ID, user, "approve", v2=True, scope=ACS_SCOPES)
    assert params == {
        "admin_consent": "True",
        "tenant": ids.FABRIKAM_TENANT_ID,
        "scope": ACS_SCOPES,
        "state": "s-42",
    }
    # The operator app now signs in to the tenant, with no Graph application permission ...
    claims = jwt.decode(
        app_token(cs, http, ids.FABRIKAM_TENANT_ID), options={"verify_signature": False}
    )
    assert not claims.get("roles")
    r = http.get(
        f"{cs.graph_base_url}/servicePrincipals",
        headers={"Authorization": f"Bearer {app_token(cs, http, ids.FABRIKAM_TENANT_ID)}"},
    )
    assert r.status_code == 403
    # ... and a user of the tenant gets a token for the delegated ACS Clients scope.
    assert user_token(cs, http, "adele@fabrikam.example")


def test_a_plain_user_may_not_grant_even_the_delegated_scopes(cs, http):
    params = answer(
        cs,
        http,
        ids.FABRIKAM_TENANT_ID,
        "megan@fabrikam.example",
        "approve",
        v2=True,
        scope=ACS_SCOPES,
    )
    assert params["error_description"].startswith("AADSTS90094:")


def test_a_scope_the_resource_does_not_publish_is_650053(cs, http):
    params = answer(
        cs,
        http,
        ids.FABRIKAM_TENANT_ID,
        "admin@fabrikam.example",
        "approve",
        v2=True,
        scope=f"{ids.ACS_CLIENTS_RESOURCE}/Nonsense",
    )
    assert params["error_description"].startswith("AADSTS650053:")


def test_the_page_lists_only_what_a_v2_request_names(cs, http):
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID, v2=True, scope=ACS_SCOPES)
    html = http.get(url, params=params).text
    assert "VoIP.Join (delegated)" in html and "(application)" not in html


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(cs, http):
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID, redirect_uri="https://evil.example/cb")
    r = http.get(url, params=params)
    assert r.status_code == 400
    assert "AADSTS50011" in r.text
    assert "location" not in r.headers


def test_unknown_client_is_700016_page(cs, http):
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID)
    r = http.get(url, params=params | {"client_id": "11111111-1111-4111-8111-111111111111"})
    assert r.status_code == 400
    assert "AADSTS700016" in r.text


def test_loopback_redirect_port_is_ignored_but_path_is_not(cs, http):
    ok = answer(
        cs,
        http,
        ids.FABRIKAM_TENANT_ID,
        "admin@fabrikam.example",
        "approve",
        redirect_uri="http://localhost:61234/consent/callback/",
    )
    assert ok["admin_consent"] == "True"
    url, params = consent_url(
        cs, ids.FABRIKAM_TENANT_ID, redirect_uri="http://localhost:61234/other/"
    )
    assert http.get(url, params=params).status_code == 400


def test_admin_can_add_redirect_uri(cs, http):
    uri = "https://portal.example/consent/callback/"
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID, redirect_uri=uri)
    assert http.get(url, params=params).status_code == 400
    cs.admin("POST", "/apps/redirect-uris", {"redirectUris": [uri]})
    assert http.get(url, params=params).status_code == 200


def test_v2_without_scope_redirects_invalid_request(cs, http):
    url, params = consent_url(cs, ids.FABRIKAM_TENANT_ID, v2=True)
    r = http.post(url, params=params, data={"user": "admin@fabrikam.example", "action": "approve"})
    back = parse_qs(urlsplit(r.headers["location"]).query)
    assert back["error"] == ["invalid_request"]


def test_revoke_removes_sp(cs, http):
    answer(cs, http, ids.FABRIKAM_TENANT_ID, "admin@fabrikam.example", "approve")
    cs.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    r = http.post(
        f"{cs.login_url}/{ids.FABRIKAM_TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ids.OPERATOR_APP_ID,
            "client_secret": ids.OPERATOR_APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    assert r.json()["error_codes"] == [7000229]
