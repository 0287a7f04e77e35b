"""Fixtures for cloudsim's own tests (the plugin's fixtures plus small client helpers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
from email.utils import formatdate
from urllib.parse import urlsplit

import httpx
import pytest

from cloudsim import ids
from cloudsim.pytest_plugin import cloudsim, cloudsim_clean  # noqa: F401 (fixtures)

ACS_API = "api-version=2025-03-02-preview"


@pytest.fixture
def cs(cloudsim_clean):  # noqa: F811
    return cloudsim_clean


@pytest.fixture
def http(cs):
    with httpx.Client(verify=ssl.create_default_context(cafile=cs.ca_file), timeout=10) as client:
        yield client


def app_token(cs, http, tid: str, resource: str = "https://graph.microsoft.com") -> str:
    r = http.post(
        f"{cs.login_url}/{tid}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": ids.OPERATOR_APP_ID,
            "client_secret": ids.OPERATOR_APP_SECRET,
            "scope": f"{resource}/.default",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def user_token_response(cs, http, upn: str, scope: str, tenant: str = "organizations"):
    return http.post(
        f"{cs.login_url}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": ids.OPERATOR_APP_ID,
            "client_secret": ids.OPERATOR_APP_SECRET,
            "username": upn,
            "password": ids.DEMO_PASSWORD,
            "scope": scope,
        },
    )


def user_token(cs, http, upn: str, scope: str = "https://communication.azure.com/clients/VoIP"):
    r = user_token_response(cs, http, upn, f"{scope} openid offline_access")
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def sign(method: str, url: str, key_b64: str, body: bytes = b"", date: str | None = None):
    """An independent HMAC-SHA256 signer written from the spec (acs-data-plane.md)."""
    parts = urlsplit(url)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    date = date or formatdate(usegmt=True)
    to_sign = f"{method}\n{path_and_query}\n{date};{parts.netloc};{content_hash}"
    digest = hmac.new(base64.b64decode(key_b64), to_sign.encode(), hashlib.sha256).digest()
    signature = base64.b64encode(digest).decode()
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
    }


def acs_call(http, cs, method, path, body: bytes = b"", resource=ids.CONTOSO_ACS, **kw):
    res = cs.acs_resources[resource]
    url = f"{res['endpoint']}{path}"
    headers = sign(method, url, res["access_key"], body) | kw.pop("headers", {})
    return http.request(method, url, content=body, headers=headers, **kw)
