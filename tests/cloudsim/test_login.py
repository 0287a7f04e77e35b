"""The login host: discovery, msal client credentials, delegated tokens, JWT claims."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import requests

from cloudsim import ids

from .conftest import user_token_response


def _msal_app(cs, tid: str, secret: str = ids.OPERATOR_APP_SECRET):
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides session.verify
    session.verify = cs.ca_file
    return msal.ConfidentialClientApplication(
        ids.OPERATOR_APP_ID,
        client_credential=secret,
        authority=f"{cs.login_url}/{tid}",
        instance_discovery=False,
        http_client=session,
    )


def test_msal_client_credentials_in_home_tenant(cs):
    result = _msal_app(cs, ids.CONTOSO_TENANT_ID).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == ids.CONTOSO_TENANT_ID
    assert claims["appid"] == ids.OPERATOR_APP_ID
    assert claims["oid"] == ids.CONTOSO_OPERATOR_SP
    assert "Application.ReadWrite.All" in claims["roles"]


def test_msal_wrong_secret_is_refused(cs):
    result = _msal_app(cs, ids.CONTOSO_TENANT_ID, "wrong").acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_roles_follow_consent_in_customer_tenant(cs):
    app = _msal_app(cs, ids.FABRIKAM_TENANT_ID)
    before = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert before["error_codes"] == [7000229]
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    after = _msal_app(cs, ids.FABRIKAM_TENANT_ID).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )
    roles = jwt.decode(after["access_token"], options={"verify_signature": False})["roles"]
    assert sorted(roles) == sorted(ids.OPERATOR_GRAPH_APP_ROLES)
    assert "Application.ReadWrite.All" not in roles


def test_discovery_by_domain_returns_tenant_guid_issuer(cs, http):
    r = http.get(f"{cs.login_url}/fabrikam.example/v2.0/.well-known/openid-configuration")
    assert r.json()["issuer"] == f"{cs.login_url}/{ids.FABRIKAM_TENANT_ID}/v2.0"


def test_unknown_tenant_is_aadsts90002(cs, http):
    r = http.get(f"{cs.login_url}/nowhere.example/v2.0/.well-known/openid-configuration")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_tenant"
    assert r.json()["error_description"].startswith("AADSTS90002:")


def test_tokens_verify_against_published_jwks(cs, http):
    token = _msal_app(cs, ids.CONTOSO_TENANT_ID).acquire_token_for_client(
        ["https://graph.microsoft.com/.default"]
    )["access_token"]
    keys = http.get(f"{cs.login_url}/common/discovery/v2.0/keys").json()["keys"]
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["iss"] == f"https://sts.windows.net/{ids.CONTOSO_TENANT_ID}/"


def test_delegated_acs_token_needs_tenant_consent(cs, http):
    scope = "https://communication.azure.com/clients/VoIP openid"
    refused = user_token_response(cs, http, "adele@fabrikam.example", scope)
    assert refused.status_code == 400
    assert refused.json()["error_codes"] == [65001]
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    ok = user_token_response(cs, http, "adele@fabrikam.example", scope).json()
    claims = jwt.decode(ok["access_token"], options={"verify_signature": False})
    assert claims["aud"] == "https://communication.azure.com/clients"
    assert claims["scp"] == "VoIP"
    assert (claims["tid"], claims["oid"]) == (ids.FABRIKAM_TENANT_ID, ids.FABRIKAM_ADELE)
    assert claims["appid"] == claims["azp"] == ids.OPERATOR_APP_ID
    id_claims = jwt.decode(ok["id_token"], options={"verify_signature": False})
    assert id_claims["preferred_username"] == "adele@fabrikam.example"


def test_acs_token_in_tenant_without_acs_clients_is_650052(cs, http):
    r = user_token_response(
        cs, http, "nancy@northwind.example", "https://communication.azure.com/clients/VoIP"
    )
    assert r.json()["error_codes"] == [650052]


def test_wrong_password_is_aadsts50126(cs, http):
    r = http.post(
        f"{cs.login_url}/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": ids.OPERATOR_APP_ID,
            "client_secret": ids.OPERATOR_APP_SECRET,
            "username": "ops@contoso.example",
            "password": "nope",
            "scope": "User.Read",
        },
    )
    assert r.json()["error_codes"] == [50126]


def test_authorization_code_flow_with_pkce_and_me(cs, http):
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect_uri = "http://127.0.0.1:54321/accounts/microsoft/login/callback/"  # any port
    params = {
        "client_id": ids.OPERATOR_APP_ID,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "User.Read openid profile email",
        "state": "st-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    authorize = f"{cs.login_url}/{ids.CONTOSO_TENANT_ID}/oauth2/v2.0/authorize"
    page = http.get(authorize, params=params)
    assert page.status_code == 200
    assert "ops@contoso.example" in page.text
    assert "adele@fabrikam.example" not in page.text
    r = http.post(
        authorize,
        params=params,
        data={"user": "ops@contoso.example", "password": ids.DEMO_PASSWORD},
    )
    assert r.status_code == 302
    back = parse_qs(urlsplit(r.headers["location"]).query)
    assert back["state"] == ["st-1"]
    token_url = f"{cs.login_url}/{ids.CONTOSO_TENANT_ID}/oauth2/v2.0/token"
    form = {
        "grant_type": "authorization_code",
        "client_id": ids.OPERATOR_APP_ID,
        "client_secret": ids.OPERATOR_APP_SECRET,
        "code": back["code"][0],
        "redirect_uri": redirect_uri,
    }
    bad = http.post(token_url, data=form | {"code_verifier": "not-the-verifier"})
    assert bad.json()["error"] == "invalid_grant"
    # the code was consumed by the failed attempt, as Entra does; get a fresh one
    r = http.post(
        authorize,
        params=params,
        data={"user": "ops@contoso.example", "password": ids.DEMO_PASSWORD},
    )
    form["code"] = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    tokens = http.post(token_url, data=form | {"code_verifier": verifier}).json()
    me = http.get(
        f"{cs.graph_base_url}/me",
        params={"$select": "id,displayName,userPrincipalName,mail"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ).json()
    assert me["id"] == ids.CONTOSO_OPS
    assert me["userPrincipalName"] == "ops@contoso.example"
    assert "jobTitle" not in me


def test_authorize_rejects_unregistered_redirect_uri(cs, http):
    r = http.get(
        f"{cs.login_url}/organizations/oauth2/v2.0/authorize",
        params={
            "client_id": ids.OPERATOR_APP_ID,
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
        },
    )
    assert r.status_code == 400
    assert "AADSTS50011" in r.text
    assert "location" not in r.headers
