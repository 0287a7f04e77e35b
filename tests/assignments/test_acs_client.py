"""The ACS client's retries, paging and errors, with HTTP faked at the transport edge.

The real protocol (signatures checked, faults injected) is exercised against cloudsim in
tests/integration/test_sync_*.py.
"""

from __future__ import annotations

import httpx
import pytest

from assignments.acs import AcsClient, AcsError, HmacAuth

KEY = "KInpYZ/rPMgB4Dor1Q8eq5Z5/a22nwVhGlPObLBLiB4="
ENDPOINT = "https://acs.test:8443"


def client_with(responses, *, max_attempts=5):
    """A client whose transport answers from ``responses`` (callables or responses) in order."""
    sent: list[httpx.Request] = []
    sleeps: list[float] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        answer = queue.pop(0)
        return answer(request) if callable(answer) else answer

    client = AcsClient(
        endpoint=ENDPOINT,
        auth=HmacAuth(KEY),
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        max_attempts=max_attempts,
    )
    return client, sent, sleeps


def error(status, code="Oops", headers=None):
    return httpx.Response(status, json={"error": {"code": code, "message": "no"}}, headers=headers)


def drop(request):
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def test_429_waits_as_long_as_retry_after_says():
    client, sent, sleeps = client_with(
        [error(429, "TooManyRequests", {"Retry-After": "3"}), httpx.Response(200, json={})]
    )
    client.put_assignment("o1", tenant_id="t", principal_type="user", client_ids=["c"])
    assert len(sent) == 2 and sleeps == [3.0]
    assert sent[0].headers["x-ms-date"] and sent[1].headers["authorization"].startswith("HMAC")


def test_5xx_and_dropped_connections_back_off_with_growing_capped_jitter():
    client, sent, sleeps = client_with([error(500), drop, error(503), httpx.Response(204)])
    client.delete_assignment("o1")
    assert len(sent) == 4
    assert [s <= 0.25 * 2**i for i, s in enumerate(sleeps, start=1)] == [True] * 3


def test_a_permanent_error_is_not_retried():
    client, sent, _ = client_with([error(400, "InvalidRequest")])
    with pytest.raises(AcsError) as info:
        client.put_assignment("o1", tenant_id="t", principal_type="user", client_ids=[])
    assert len(sent) == 1
    assert (info.value.permanent, info.value.status, info.value.code) == (
        True,
        400,
        "InvalidRequest",
    )


def test_transient_errors_give_up_after_the_last_attempt():
    client, sent, _ = client_with([error(500)] * 3, max_attempts=3)
    with pytest.raises(AcsError) as info:
        client.patch_assignments({"o1": None})
    assert len(sent) == 3 and not info.value.permanent
    assert "gave up after 3 attempts" in str(info.value)


def test_paging_follows_absolute_and_opaque_next_links():
    client, sent, _ = client_with(
        [
            httpx.Response(
                200,
                json={
                    "value": [{"objectId": "a"}],
                    "nextLink": f"{ENDPOINT}/access/entra/assignments?api-version=x&skip=1",
                },
            ),
            httpx.Response(200, json={"value": [{"objectId": "b"}], "nextLink": "tok/en"}),
            httpx.Response(200, json={"value": [{"objectId": "c"}]}),
        ]
    )
    assert [a["objectId"] for a in client.list_assignments()] == ["a", "b", "c"]
    targets = [r.url.raw_path.decode() for r in sent]
    assert targets[1] == "/access/entra/assignments?api-version=x&skip=1"
    assert targets[2].endswith("&nextLink=tok%2Fen")


def test_merge_patch_sends_nulls_for_deletes():
    client, sent, _ = client_with([httpx.Response(204)])
    client.patch_assignments(
        {"a": {"tenantId": "t", "principalType": "user", "clientIds": ["c"]}, "b": None}
    )
    assert sent[0].headers["content-type"] == "application/merge-patch+json"
    assert sent[0].content.endswith(b'"b":null}')


def test_deleting_what_is_already_gone_succeeds():
    client, _, _ = client_with([error(404, "NotFound")])
    client.delete_assignment("gone")
