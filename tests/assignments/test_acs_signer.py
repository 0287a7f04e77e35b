"""The HMAC-SHA256 signer against vectors computed independently (openssl, by hand).

Each vector was produced outside Python with:
  printf 'METHOD\\nPATH?QUERY\\nDATE;HOST;HASH' | openssl dgst -sha256 -mac HMAC \\
      -macopt hexkey:$(echo -n KEY | base64 -d | xxd -p -c 256) -binary | base64
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from assignments.acs import EMPTY_BODY_HASH, HmacAuth, content_hash, hmac_headers, rfc1123

KEY = "KInpYZ/rPMgB4Dor1Q8eq5Z5/a22nwVhGlPObLBLiB4="
DATE = "Tue, 16 Dec 2025 12:51:01 GMT"
BODY = (
    b'{"tenantId":"fab12ca7-0000-4000-8000-000000000002","principalType":"user",'
    b'"clientIds":["0bea7a00-0000-4000-8000-0000000000a1"]}'
)
PUT_PATH = (
    "/access/entra/assignments/fab12ca7-0001-4000-8000-000000000003?api-version=2025-03-02-preview"
)


def test_empty_body_hash_is_the_one_in_the_spec():
    assert content_hash(b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert content_hash(b"") == EMPTY_BODY_HASH


def test_body_hash_vector():
    assert content_hash(BODY) == "mEz6fw9f6hcAEKFEojuLbNINB3D1bAVW1EbiLk56ljw="


def test_get_with_empty_body_on_default_port():
    headers = hmac_headers(
        method="get",
        path_and_query="/access/entra/assignments?api-version=2025-03-02-preview",
        host="contoso-acs.communication.azure.com",
        body=b"",
        access_key=KEY,
        date=DATE,
    )
    assert headers == {
        "x-ms-date": DATE,
        "x-ms-content-sha256": EMPTY_BODY_HASH,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        "&Signature=zFNtpD74tv4yDh+Pdc+dHytnmQwhie8V1Lcpr1PPees=",
    }


def test_put_with_body_and_non_default_port():
    headers = hmac_headers(
        method="PUT",
        path_and_query=PUT_PATH,
        host="127.0.0.1:8443",
        body=BODY,
        access_key=KEY,
        date=DATE,
    )
    assert headers["x-ms-content-sha256"] == "mEz6fw9f6hcAEKFEojuLbNINB3D1bAVW1EbiLk56ljw="
    assert headers["Authorization"].endswith(
        "&Signature=Uu3EDCdUOCcRYTq98HCL56ymvdI6ekjPUtN1WurxpgQ="
    )


def test_date_is_rfc1123_in_gmt():
    assert rfc1123(datetime(2025, 12, 16, 12, 51, 1, tzinfo=UTC)) == DATE


def test_a_key_that_is_not_base64_is_a_configuration_error():
    from assignments.acs import AcsConfigError

    with pytest.raises(AcsConfigError) as info:
        hmac_headers(
            method="GET", path_and_query="/", host="h", body=b"", access_key="%%", date=DATE
        )
    assert "%%" not in str(info.value)


def test_auth_signs_the_request_as_httpx_sends_it(monkeypatch):
    """Host carries the non-default port; the path keeps its query exactly as sent."""
    monkeypatch.setattr("assignments.acs.rfc1123", lambda _moment: DATE)
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        seen["target"] = request.url.raw_path.decode()
        return httpx.Response(200, json={})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=HmacAuth(KEY)) as client:
        client.put(f"https://127.0.0.1:8443{PUT_PATH}", content=BODY)
    assert seen["host"] == "127.0.0.1:8443"
    assert seen["target"] == PUT_PATH
    assert seen["authorization"].endswith("Signature=Uu3EDCdUOCcRYTq98HCL56ymvdI6ekjPUtN1WurxpgQ=")
    assert "KInpYZ" not in repr(HmacAuth(KEY))
