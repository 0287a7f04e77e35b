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
LIST = "/access/entra/assignments"


@pytest.fixture(autouse=True)
def _acs_test_is_allowed(settings):
    settings.ACS_ALLOWED_HOSTS = ["acs.test:8443"]


def client_with(responses, *, max_attempts=5, max_pages=2000, retry_seconds=None):
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
        max_pages=max_pages,
        retry_seconds=retry_seconds,
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


def test_a_time_budget_that_ends_the_retries_counts_the_attempts_made():
    """The last attempt is not sent when ACS asks to wait past the budget: 2 of 3 were made."""
    answers = [error(500), error(429, "TooManyRequests", {"Retry-After": "30"})]
    client, sent, _ = client_with(answers, max_attempts=3, retry_seconds=10)
    with pytest.raises(AcsError) as info:
        client.patch_assignments({"o1": None})
    assert len(sent) == 2
    assert "gave up after 2 attempts" in str(info.value)


def page(objects, next_link=None):
    body = {"value": [{"objectId": o} for o in objects]}
    if next_link:
        body["nextLink"] = next_link
    return httpx.Response(200, json=body)


def test_listing_sends_only_the_declared_api_version():
    client, sent, _ = client_with([page(["a"])])
    assert [a["objectId"] for a in client.list_assignments()] == ["a"]
    assert sent[0].url.raw_path.decode() == f"{LIST}?api-version=2025-03-02-preview"


def test_paging_follows_absolute_and_relative_next_links():
    client, sent, _ = client_with(
        [
            page(["a"], f"{ENDPOINT}{LIST}?api-version=2025-03-02-preview&skipToken=a"),
            page(["b"], f"{LIST}?skipToken=b"),
            page(["c"], "?skipToken=c%2F1"),
            page(["d"]),
        ]
    )
    assert [a["objectId"] for a in client.list_assignments()] == ["a", "b", "c", "d"]
    targets = [r.url.raw_path.decode() for r in sent]
    assert targets[1:] == [
        f"{LIST}?api-version=2025-03-02-preview&skipToken=a",
        f"{LIST}?api-version=2025-03-02-preview&skipToken=b",
        f"{LIST}?api-version=2025-03-02-preview&skipToken=c%2F1",
    ]
    assert all(r.url.host == "acs.test" for r in sent)


def test_a_next_link_to_another_host_is_refused_before_anything_is_sent_there():
    client, sent, _ = client_with([page(["a"], "https://evil.test/steal?x=1")])
    with pytest.raises(AcsError, match="another host"):
        list(client.list_assignments())
    assert len(sent) == 1


def test_a_listing_that_links_to_itself_stops_with_an_error():
    looping = f"{ENDPOINT}{LIST}?api-version=2025-03-02-preview&skipToken=a"
    client, sent, _ = client_with([page(["a"], looping)] * 50)
    with pytest.raises(AcsError, match="paging loop") as info:
        list(client.list_assignments())
    assert info.value.permanent and len(sent) == 2


def test_a_listing_without_end_stops_at_the_page_cap():
    pages = [page([f"o{i}"], f"{LIST}?skipToken=o{i}") for i in range(10)]
    client, sent, _ = client_with(pages, max_pages=5)
    with pytest.raises(AcsError, match="more than 5 pages") as info:
        list(client.list_assignments())
    assert info.value.permanent and len(sent) == 5


def test_every_request_carries_a_client_request_id_and_errors_log_both_ids(caplog):
    answer = httpx.Response(
        403,
        json={"error": {"code": "Forbidden", "message": "no"}},
        headers={"x-ms-request-id": "srv-123"},
    )
    client, sent, _ = client_with([answer])
    with pytest.raises(AcsError) as info:
        client.get_assignment("o1")
    client_id = sent[0].headers["x-ms-client-request-id"]
    assert len(client_id) == 36
    assert (info.value.request_id, info.value.client_request_id) == ("srv-123", client_id)
    assert f"x-ms-request-id=srv-123, x-ms-client-request-id={client_id}" in caplog.text


def test_a_redirect_is_not_followed_and_its_body_is_not_repeated():
    answer = httpx.Response(
        302,
        headers={"Location": "http://169.254.169.254/"},
        json={"error": {"code": "X", "message": "internal detail"}},
    )
    client, sent, _ = client_with([answer])
    with pytest.raises(AcsError) as info:
        client.get_assignment("o1")
    assert len(sent) == 1 and "redirect" in str(info.value)
    assert "internal detail" not in str(info.value)


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


def test_a_bearer_token_is_only_ever_sent_to_its_own_resource():
    from assignments.acs import AcsConfigError, BearerAuth

    sent: list[httpx.Request] = []
    auth = BearerAuth(lambda: "app-token", origin=ENDPOINT)
    with httpx.Client(transport=httpx.MockTransport(sent.append)) as http:
        for elsewhere in ("https://evil.test/", "http://acs.test:8443/", "https://acs.test/"):
            with pytest.raises(AcsConfigError, match="only ever sent to its own"):
                http.get(elsewhere, auth=auth)
    assert sent == []
