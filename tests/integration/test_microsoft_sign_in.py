"""Operators sign in with Microsoft through cloudsim; other tenants' users are refused."""

from __future__ import annotations

import copy

import pytest

from audit.models import AuditEvent
from cloudsim import ids
from portal.models import Role
from tests.support.microsoft import SIGN_IN_CALLBACK, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def sign_in_ready(cloudsim_clean, microsoft_env):
    cloudsim_clean.admin("POST", "/apps/redirect-uris", {"redirectUris": [SIGN_IN_CALLBACK]})
    return cloudsim_clean


def test_invited_home_tenant_operator_signs_in(client, make_user, sign_in_ready):
    make_user("ops@contoso.example", Role.OPERATOR)
    response = sign_in(client, sign_in_ready, "ops@contoso.example")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="operator.signed_in")
    assert event.details == {"method": "microsoft"}


def test_home_tenant_user_without_invitation_is_refused(client, sign_in_ready):
    response = sign_in(client, sign_in_ready, "alice@contoso.example")
    assert response.status_code == 403
    assert "no portal account yet" in response.content.decode()
    assert client.get("/").status_code == 302  # still signed out


def test_user_of_another_tenant_is_refused_with_a_clear_page(
    client, make_user, sign_in_ready, settings
):
    # Even if the app registration were set to accept any organization, the portal checks tid.
    providers = copy.deepcopy(settings.SOCIALACCOUNT_PROVIDERS)
    providers["microsoft"]["APPS"][0]["settings"]["tenant"] = "organizations"
    settings.SOCIALACCOUNT_PROVIDERS = providers
    make_user("admin@fabrikam.example", Role.ADMIN)  # same email must not help
    response = sign_in(client, sign_in_ready, "admin@fabrikam.example")
    assert response.status_code == 403
    page = response.content.decode()
    assert "belongs to another organization" in page
    assert ids.FABRIKAM_TENANT_ID in page
    assert client.get("/").status_code == 302
    refused = AuditEvent.objects.get(action="operator.sign_in_refused")
    assert refused.details["tenant_id"] == ids.FABRIKAM_TENANT_ID
