"""Secrets and tokens never reach the audit log, however deep they sit in the details."""

from __future__ import annotations

import json

import pytest

from audit.actions import Action
from audit.models import AuditEvent
from audit.scrub import REDACTED, scrub
from audit.services import Actor, record_event

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLWJ5dGVz"
HMAC = "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=abcDEF123+/="


def test_secret_keys_are_redacted_at_any_depth():
    details = {
        "request": {
            "headers": {"Authorization": "Bearer abc.def.ghi", "Cookie": "sessionid=1"},
            "body": {"client_secret": "s3cr3t", "password": "hunter2", "Access_Key": "QUJD"},
        },
        "attempts": [{"api_key": "k1"}, {"nested": [{"refresh_token": "rt", "ok": True}]}],
        "connectionString": "endpoint=https://x.communication.azure.com/;accesskey=QUJDRA==",
        "privateKey": "-----BEGIN PRIVATE KEY-----",
        "hmac": "abc",
        "key": "QUJD",
    }
    cleaned = scrub(details)
    assert cleaned["request"]["headers"] == {"Authorization": REDACTED, "Cookie": REDACTED}
    assert set(cleaned["request"]["body"].values()) == {REDACTED}
    assert cleaned["attempts"][0] == {"api_key": REDACTED}
    assert cleaned["attempts"][1]["nested"][0] == {"refresh_token": REDACTED, "ok": True}
    for key in ("connectionString", "privateKey", "hmac", "key"):
        assert cleaned[key] == REDACTED


def test_token_shaped_values_are_redacted_under_innocent_keys():
    details = {
        "message": f"Graph said no to {JWT} today",
        "header": HMAC,
        "auth": "Bearer " + "x" * 40,
        "urls": [
            "https://acs.example/?sig=abcdefghijklmnop%2B&se=2026",
            "https://portal/callback?code=0.AAA-secret-code&state=abc&error_code=AADSTS65004",
        ],
        "deep": {"list": [[{"x": JWT}]]},
        "conn": "endpoint=https://x/;accesskey=QUJDRA==",
    }
    text = json.dumps(scrub(details))
    for secret in (
        JWT,
        "SignedHeaders",
        "x" * 40,
        "abcdefghijklmnop",
        "0.AAA-secret-code",
        "QUJDRA==",
    ):
        assert secret not in text
    # What an auditor needs stays readable.
    assert "Graph said no to" in text
    assert "AADSTS65004" in text
    assert "endpoint=https://x/" in text


def test_harmless_details_are_kept_as_json():
    details = {
        "from": "invited",
        "to": "verified",
        "count": 3,
        "ok": True,
        "none": None,
        "ids": ("a", "b"),
        "tenant": "fabrikam.example",
    }
    assert scrub(details) == {**details, "ids": ["a", "b"]}


def test_runaway_nesting_is_cut():
    deep: dict = {}
    cursor = deep
    for _ in range(50):
        cursor["n"] = {}
        cursor = cursor["n"]
    assert REDACTED in json.dumps(scrub(deep))


@pytest.mark.django_db
def test_record_event_stores_scrubbed_details():
    record_event(
        actor=Actor.system("test"),
        action=Action.RESOURCE_TESTED,
        target_type="acsresource",
        target_id="1",
        details={"response": {"token": JWT, "status": 401, "items": [{"password": "p"}]}},
    )
    stored = AuditEvent.objects.get().details
    assert stored == {
        "response": {"token": REDACTED, "status": 401, "items": [{"password": REDACTED}]}
    }


@pytest.mark.django_db
def test_unknown_actions_are_refused():
    with pytest.raises(ValueError, match="Unknown audit action"):
        record_event(actor=Actor.system(), action="tenant.exploded")
