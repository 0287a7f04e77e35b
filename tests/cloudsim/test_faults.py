"""Fault injection: latency, 429 with Retry-After, 500, 503, dropped connections, rate limits."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from cloudsim import ids
from cloudsim.faults import FaultRule

from .conftest import ACS_API, acs_call

A = "/access/entra/assignments"
BODY = json.dumps(
    {
        "tenantId": ids.FABRIKAM_TENANT_ID,
        "principalType": "user",
        "clientIds": [ids.OPERATOR_APP_ID],
    }
).encode()


def remote(cs):
    return [a["objectId"] for a in cs.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]]


def test_latency(cs, http):
    started = time.monotonic()
    acs_call(http, cs, "GET", f"{A}?{ACS_API}")
    baseline = time.monotonic() - started
    cs.set_fault("latency", service="acs", arg=400)
    started = time.monotonic()
    assert acs_call(http, cs, "GET", f"{A}?{ACS_API}").status_code == 200
    assert time.monotonic() - started >= 0.4 > baseline


def test_429_with_retry_after(cs, http):
    cs.set_fault("429", service=ids.CONTOSO_ACS, method="PUT", arg=2, times=1)
    first = acs_call(http, cs, "PUT", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}", BODY)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2"
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert len(first.headers["x-ms-request-id"]) == 36  # what a support case to Azure needs
    assert remote(cs) == []
    again = acs_call(http, cs, "PUT", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}", BODY)
    assert again.status_code == 201


@pytest.mark.parametrize("status", ["500", "503"])
def test_server_errors_on_graph(cs, http, status):
    cs.set_fault(status, service="graph", path="/v1.0/organization")
    r = http.get(f"{cs.graph_base_url}/organization", headers={"Authorization": "Bearer x"})
    assert r.status_code == int(status)
    assert "innerError" in r.json()["error"]


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_injected_acs_errors_carry_request_ids_as_azure_does(cs, http, status):
    cs.set_fault(status, service="acs", method="GET")
    r = acs_call(http, cs, "GET", f"{A}?{ACS_API}", headers={"x-ms-client-request-id": "portal-7"})
    assert r.status_code == int(status)
    assert len(r.headers["x-ms-request-id"]) == 36
    assert r.headers["x-ms-client-request-id"] == "portal-7"


def test_drop_before_the_change(cs, http):
    cs.set_fault("drop", service="acs", method="PUT")
    with pytest.raises(httpx.TransportError):
        acs_call(http, cs, "PUT", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}", BODY)
    assert remote(cs) == []


def test_drop_after_the_change(cs, http):
    cs.set_fault("drop_after", service="acs", method="PUT")
    with pytest.raises(httpx.TransportError):
        acs_call(http, cs, "PUT", f"{A}/{ids.FABRIKAM_ADELE}?{ACS_API}", BODY)
    assert remote(cs) == [ids.FABRIKAM_ADELE]


def test_probability_is_deterministic_with_a_seed(cs, http):
    outcomes = []
    for _ in range(2):
        cs.clear_faults()
        cs.admin(
            "POST", "/faults", {"seed": 7, "kind": "500", "service": "acs", "probability": 0.5}
        )
        outcomes.append(
            [acs_call(http, cs, "GET", f"{A}?{ACS_API}").status_code for _ in range(20)]
        )
    assert outcomes[0] == outcomes[1]
    assert {200, 500} == set(outcomes[0])


def test_default_rate_limit_and_switch(cs, http):
    cs.admin("POST", "/rate-limits", {"limits": {"acs": {"rate": 1, "burst": 2}}})
    try:
        codes = [acs_call(http, cs, "GET", f"{A}?{ACS_API}").status_code for _ in range(4)]
        assert codes[:2] == [200, 200]
        assert 429 in codes[2:]
        cs.admin("POST", "/rate-limits", {"enabled": False})
        assert acs_call(http, cs, "GET", f"{A}?{ACS_API}").status_code == 200
    finally:
        cs.admin(
            "POST",
            "/rate-limits",
            {"enabled": True, "limits": {"acs": {"rate": 200, "burst": 400}}},
        )


def test_stats_count_requests(cs, http):
    acs_call(http, cs, "GET", f"{A}?{ACS_API}")
    stats = cs.admin("GET", "/stats")
    assert stats["routes"]["acs GET /access/entra/assignments"] == 1


def test_fault_flag_syntax_allows_colons_in_paths():
    rule = FaultRule.parse_flag("acs.POST/access/entra/:exchangeAccessToken:503:0.25")
    assert (rule.service, rule.method, rule.path, rule.kind, rule.probability) == (
        "acs",
        "POST",
        "/access/entra/:exchangeAccessToken",
        "503",
        0.25,
    )
    assert FaultRule.parse_flag("graph:429:1:3").arg == "3"
