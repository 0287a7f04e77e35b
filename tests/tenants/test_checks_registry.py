"""Verification checks are one registry: each declares its label and remedy, the pages render
from it, and a check added to a table runs and shows without touching anything else."""

from __future__ import annotations

import html

import pytest

from cloudsim import ids
from tenants import graph, verification
from tenants.verification import DEEP_CHECKS, HOME_CHECKS, STANDARD_CHECKS, check

TABLES = {"standard": STANDARD_CHECKS, "deep": DEEP_CHECKS, "home": HOME_CHECKS}


@pytest.mark.parametrize("name", list(TABLES))
def test_every_check_declares_a_label_and_a_remedy(name):
    table = TABLES[name]
    keys = [c.key for c in table]
    assert len(keys) == len(set(keys)), keys
    for c in table:
        assert c.label and c.label != c.key, c
        assert c.remedy, c
        assert all(hasattr(verification.Probe(None, ""), need) for need in c.needs), c


def test_a_key_has_one_label_wherever_it_is_checked():
    by_key: dict[str, set[str]] = {}
    for c in (*STANDARD_CHECKS, *DEEP_CHECKS, *HOME_CHECKS):
        by_key.setdefault(c.key, set()).add(c.label)
    assert {k: v for k, v in by_key.items() if len(v) > 1} == {}
    assert (
        verification.label_of(f"group:{ids.FABRIKAM_SALES_GROUP}")
        == "Group assigned to ACS Clients"
    )


@pytest.mark.django_db
def test_a_check_added_to_the_table_runs_and_shows_on_the_tenant_page(
    microsoft, client, operator_client, issued, monkeypatch
):
    from tests.support.microsoft import consent

    table = list(DEEP_CHECKS)
    monkeypatch.setattr(verification, "DEEP_CHECKS", table)

    @check(table, "tea", "Tea is brewed", "Put the kettle on.", needs=("operator_sp",))
    def _tea(c, probe):
        return [c.finding(False, f"No tea in {probe.tid}.")]

    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    result = verification.verify_consent(tenant=issued.link.tenant)
    tea = next(f for f in result.findings if f["check"] == "tea")
    assert tea == {
        "check": "tea",
        "ok": False,
        "detail": f"No tea in {ids.FABRIKAM_TENANT_ID}.",
        "remedy": "Put the kettle on.",
    }
    page = html.unescape(operator_client.get(f"/tenants/{issued.link.tenant_id}/").content.decode())
    item = page.split('data-check="tea"', 1)[1].split("</li>", 1)[0]
    assert "Tea is brewed" in item and "Remedy:</strong> Put the kettle on." in item


@pytest.mark.django_db
def test_a_check_whose_dependency_failed_is_skipped(microsoft, client, issued):
    from tests.support.microsoft import consent

    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    microsoft.admin("DELETE", f"/tenants/{ids.FABRIKAM_TENANT_ID}/acs-clients-sp")
    graph.reset_token_caches()
    found = verification.verify_consent(tenant=issued.link.tenant).findings
    keys = [f["check"] for f in found]
    assert "acs_clients_sp" in keys and "delegated_grant" not in keys  # it needs ACS Clients


# --- the home preflight: the operator app's own credentials (issue 15) -----------------------


def _preflight(operator_client) -> str:
    graph.reset_token_caches()
    return html.unescape(operator_client.get("/tenants/preflight/").content.decode())


def _item(page: str, check_key: str) -> list[str]:
    parts = page.split(f'data-check="{check_key}"')[1:]
    return [p.split("</li>", 1)[0] for p in parts]


@pytest.mark.django_db
def test_the_preflight_warns_of_a_client_secret_expiring_soon(microsoft, operator_client):
    microsoft.admin("POST", "/tenants/" + ids.CONTOSO_TENANT_ID + "/acs-clients-sp")
    microsoft.admin("POST", "/apps/secret", {"days": 10})
    page = _preflight(operator_client)
    [secret] = _item(page, "credentials")
    assert "Warning:" in secret and "client secret expires in 10 days" in secret
    assert "Certificates &amp; secrets" in secret or "Certificates & secrets" in secret
    verdict = page.split('id="preflight-verdict">', 1)[1].split("</p>", 1)[0]
    assert "Everything is ready. 1 warning below needs attention soon." in verdict


@pytest.mark.django_db
def test_the_preflight_fails_an_expired_credential(microsoft, operator_client):
    microsoft.admin(
        "POST", "/apps/credentials", {"secret_days": [-3, 400], "certificate_days": [5]}
    )
    items = _item(_preflight(operator_client), "credentials")
    expired = [i for i in items if "client secret expired on" in i]
    assert len(expired) == 1 and "Remedy:" in expired[0]
    assert any("certificate expires in 5 days" in i and "Warning:" in i for i in items)
    assert any("client secret is valid until" in i for i in items)


@pytest.mark.django_db
def test_the_preflight_names_the_expired_secret_it_signs_in_with(microsoft, operator_client):
    microsoft.admin("POST", "/apps/secret", {"days": -1})
    page = _preflight(operator_client)
    [token] = _item(page, "app_token")
    assert "has expired (AADSTS7000222)" in token and "New client secret" in token
    assert "Some checks failed" in page
