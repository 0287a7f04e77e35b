"""Admin consent URL building and the signed, single-use, short-lived state."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing

from cloudsim import ids
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_v1_url_names_the_invited_tenant_app_and_callback(settings):
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com"
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    settings.PORTAL_BASE_URL = "https://portal.example"
    url = consent.build_admin_consent_url(tenant_id=ids.FABRIKAM_TENANT_ID, state="s1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"https://login.microsoftonline.com/{ids.FABRIKAM_TENANT_ID}/adminconsent"
    )
    assert _query(url) == {
        "client_id": ids.OPERATOR_APP_ID,
        "redirect_uri": "https://portal.example/consent/callback/",
        "state": "s1",
    }


def test_v2_url_has_default_scope(settings):
    settings.ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.us/"
    url = consent.build_admin_consent_url(tenant_id=ids.LITWARE_TENANT_ID, state="s", version="v2")
    assert urlsplit(url).path == f"/{ids.LITWARE_TENANT_ID}/v2.0/adminconsent"
    assert urlsplit(url).netloc == "login.microsoftonline.us"
    assert _query(url)["scope"] == "https://graph.microsoft.com/.default"


def test_starting_consent_binds_a_fresh_nonce_to_the_link(issued):
    url = consent.start_admin_consent(token=issued.token)
    link = ConsentLink.objects.get(pk=issued.link.pk)
    link_pk, nonce = consent.read_state(_query(url)["state"])
    assert link_pk == link.pk and nonce == link.state_nonce and len(nonce) >= 24
    second = consent.start_admin_consent(token=issued.token)
    assert consent.read_state(_query(second)["state"])[1] != nonce  # the old state is dead


def test_token_is_stored_only_as_a_hash(issued):
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert len(issued.token) >= 43  # 32 random bytes
    assert issued.token not in link.token_hash
    assert link.token_hash == consent.hash_token(issued.token)


@pytest.mark.parametrize(
    "state",
    [
        "",
        "garbage",
        signing.dumps({"l": 1, "n": "x"}, salt="another-salt"),
        signing.dumps({"l": "1", "n": "x"}, salt=consent.STATE_SALT),
        signing.dumps({"l": 1}, salt=consent.STATE_SALT),
        signing.dumps([1, "x"], salt=consent.STATE_SALT),
    ],
)
def test_bad_states_are_refused(state):
    with pytest.raises(consent.CallbackRejected):
        consent.read_state(state)


def test_expired_state_is_refused(issued, settings):
    url = consent.start_admin_consent(token=issued.token)
    settings.CONSENT_STATE_MAX_AGE = -1
    with pytest.raises(consent.CallbackRejected, match="too late"):
        consent.read_state(_query(url)["state"])


def _granted(issued, **extra):
    state = _query(consent.start_admin_consent(token=issued.token))["state"]
    params = {"admin_consent": "True", "tenant": ids.FABRIKAM_TENANT_ID, "state": state, **extra}
    return params


def test_granted_callback_moves_tenant_and_uses_link(issued, django_capture_on_commit_callbacks):
    params = _granted(issued)
    with django_capture_on_commit_callbacks() as callbacks:
        result = consent.record_consent_callback(params=params)
    assert result.outcome == "granted"
    assert len(callbacks) == 1  # verification is enqueued after commit
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.used_at and link.state_nonce == ""
    assert link.tenant.status == TenantStatus.CONSENTED


def test_replayed_state_shows_the_recorded_outcome_and_changes_nothing(issued):
    params = _granted(issued)
    consent.record_consent_callback(params=params)
    before = ConsentLink.objects.values().get(pk=issued.link.pk)
    forged = {**params, "admin_consent": "", "error": "access_denied"}
    replay = consent.record_consent_callback(params=forged)
    assert replay.replayed and replay.outcome == "granted"
    assert ConsentLink.objects.values().get(pk=issued.link.pk) == before


def test_a_state_never_answered_and_replaced_is_still_refused(issued):
    params = _granted(issued)
    consent.start_admin_consent(token=issued.token)  # a newer redirect replaces the state
    with pytest.raises(consent.CallbackRejected, match="replaced"):
        consent.record_consent_callback(params=params)


def test_callback_from_foreign_tenant_is_refused(issued):
    params = _granted(issued, tenant=ids.NORTHWIND_TENANT_ID)
    with pytest.raises(consent.CallbackRejected, match="another organization"):
        consent.record_consent_callback(params=params)
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.tenant.status == TenantStatus.INVITED and not link.used_at and link.state_nonce


def test_tampered_state_is_refused(issued):
    params = _granted(issued)
    params["state"] = params["state"][:-2] + ("AA" if not params["state"].endswith("AA") else "BB")
    with pytest.raises(consent.CallbackRejected):
        consent.record_consent_callback(params=params)


def test_revoked_link_cannot_complete(issued, actor):
    params = _granted(issued)
    consent.revoke_consent_link(actor=actor, link=issued.link)
    with pytest.raises(consent.CallbackRejected):
        consent.record_consent_callback(params=params)


def test_decline_records_outcome_and_keeps_link_usable(issued):
    state = _query(consent.start_admin_consent(token=issued.token))["state"]
    result = consent.record_consent_callback(
        params={
            "error": "access_denied",
            "error_subcode": "cancel",
            "error_description": "AADSTS65004: User declined to consent to access the app.",
            "state": state,
        }
    )
    assert result.outcome == "declined" and result.explanation.code == "AADSTS65004"
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.tenant.status == TenantStatus.DECLINED
    assert link.error_subcode == "cancel" and not link.used_at
    consent.open_consent_link(token=issued.token)  # may try again


def test_missing_acs_clients_sp_error_leaves_a_finding_with_the_command(issued):
    state = _query(consent.start_admin_consent(token=issued.token))["state"]
    consent.record_consent_callback(
        params={
            "error": "invalid_client",
            "error_description": "AADSTS650052: The app is trying to access a service ...",
            "state": state,
        }
    )
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert link.tenant.status == TenantStatus.ATTENTION
    finding = link.tenant.checks.get().findings[0]
    assert "az ad sp create --id 2a04943b-b6a7-4f65-8786-2bb6131b59f6" in finding["remedy"]


def test_a_yes_for_a_revoked_tenant_is_a_new_consent(issued):
    params = _granted(issued)
    CustomerTenant.objects.filter(pk=issued.link.tenant_id).update(status=TenantStatus.REVOKED)
    result = consent.record_consent_callback(params=params)
    assert result.tenant.status == TenantStatus.CONSENTED
    link = ConsentLink.objects.get(pk=issued.link.pk)
    assert not link.state_nonce and link.used_at
