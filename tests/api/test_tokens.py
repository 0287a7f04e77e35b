"""API tokens: shown once, stored hashed, scoped by role, expiring, revocable, audited per use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api import tokens
from api.models import ApiToken, Scope
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from tenants.models import CustomerTenant
from tests.api.conftest import client_with, token_for

pytestmark = pytest.mark.django_db
NEW_TENANT = {"tenant": "00000000-0000-4000-8000-00000000abcd", "offline": True}


def test_token_is_stored_as_a_hash_and_works_as_bearer(admin_user):
    issued = tokens.issue_token(actor=Actor.operator(admin_user), owner=admin_user, name="ci")
    row = ApiToken.objects.get()
    assert issued.secret.startswith(f"acsp_{row.prefix}_")
    assert issued.secret not in row.secret_hash and len(row.secret_hash) == 64
    response = client_with(issued.secret).get("/api/v1/tenants/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer acsp_00000000_nope", "Bearer", "Bearer a b", "Bearer not-ours"],
)
def test_a_bad_token_is_a_401_problem(client, header):
    response = client.get("/api/v1/tenants/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["type"] == "urn:acs-portal:problem:unauthenticated"


def test_no_credentials_is_a_401(client):
    assert client.get("/api/v1/tenants/").status_code == 401


def test_a_wrong_secret_with_a_real_prefix_is_refused(admin_user):
    secret = token_for(admin_user)
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert client_with(forged).get("/api/v1/tenants/").status_code == 401


def test_revoked_expired_and_deactivated_tokens_stop_working(admin_user, operator_user):
    revoked, expired, orphan = (token_for(u) for u in (admin_user, admin_user, operator_user))
    tokens.revoke_token(actor=Actor.operator(admin_user), token=tokens.find_token(revoked))
    ApiToken.objects.filter(pk=tokens.find_token(expired).pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    operator_user.is_active = False
    operator_user.save()
    for secret in (revoked, expired, orphan):
        assert client_with(secret).get("/api/v1/tenants/").status_code == 401


def test_an_auditor_cannot_hold_a_write_token(admin_user, auditor_user):
    with pytest.raises(tokens.TokenError, match="only read"):
        tokens.issue_token(
            actor=Actor.operator(admin_user), owner=auditor_user, name="x", scope=Scope.WRITE
        )


def test_an_operator_cannot_issue_for_someone_else(operator_user, admin_user):
    with pytest.raises(tokens.TokenError, match="Only an admin"):
        tokens.issue_token(actor=Actor.operator(operator_user), owner=admin_user, name="x")


def test_a_write_token_of_a_user_demoted_to_auditor_can_no_longer_write(operator_user):
    api = client_with(token_for(operator_user, Scope.WRITE))
    operator_user.role = "auditor"
    operator_user.save()
    response = api.post("/api/v1/tenants/", NEW_TENANT, format="json")
    assert response.status_code == 403
    assert not CustomerTenant.objects.exists()


def test_a_read_token_of_an_admin_cannot_write(admin_user):
    api = client_with(token_for(admin_user, Scope.READ))
    response = api.post("/api/v1/tenants/", NEW_TENANT, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."
    assert not CustomerTenant.objects.exists()


def test_every_change_names_the_token_and_its_owner(admin_user):
    secret = token_for(admin_user)
    token = tokens.find_token(secret)
    client_with(secret).post("/api/v1/tenants/", NEW_TENANT, format="json", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action=Action.TENANT_CREATED)
    assert event.actor == admin_user and event.actor_label == admin_user.email
    assert event.details["api_access"] == {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
    }
    assert event.ip == "10.1.2.3"
    token.refresh_from_db()
    assert token.last_used_ip == "10.1.2.3" and token.last_used_at is not None


def test_issue_and_revoke_are_audited(admin_user):
    issued = tokens.issue_token(actor=Actor.operator(admin_user), owner=admin_user, name="ci")
    tokens.revoke_token(actor=Actor.operator(admin_user), token=issued.token)
    created, revoked = AuditEvent.objects.order_by("id")
    assert created.action == Action.API_TOKEN_CREATED
    assert revoked.action == Action.API_TOKEN_REVOKED
    assert issued.secret not in str(created.details) + str(revoked.details)


def test_rate_limit_answers_429_with_retry_after(admin_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "3/min"},
    }
    api = client_with(token_for(admin_user))
    codes = [api.get("/api/v1/tenants/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = api.get("/api/v1/tenants/")
    assert response["Content-Type"] == "application/problem+json"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another token has its own budget.
    assert client_with(token_for(admin_user)).get("/api/v1/tenants/").status_code == 200


# --- the API tokens page ------------------------------------------------------------------
def test_page_shows_a_new_token_once(operator_client, operator_user):
    url = reverse("api:tokens")
    response = operator_client.post(url, {"name": "sign-up flow", "scope": "write", "days": 30})
    assert response.status_code == 302
    page = operator_client.get(url).content.decode()
    token = ApiToken.objects.get(owner=operator_user)
    assert f"acsp_{token.prefix}_" in page and "shown only now" in page
    again = operator_client.get(url).content.decode()
    assert "shown only now" not in again and f"acsp_{token.prefix}_…" in again
    assert token.scope == "write"


def test_an_auditor_sees_tokens_but_cannot_issue(auditor_client, auditor_user):
    token_for(auditor_user, Scope.READ)
    page = auditor_client.get(reverse("api:tokens"))
    assert page.status_code == 200 and b"ask an admin" in page.content
    response = auditor_client.post(reverse("api:tokens"), {"name": "x", "scope": "read", "days": 1})
    assert response.status_code == 403
    assert ApiToken.objects.filter(owner=auditor_user).count() == 1


def test_an_admin_issues_a_read_token_for_an_auditor(admin_client, auditor_user):
    response = admin_client.post(
        reverse("api:tokens"),
        {"name": "reports", "scope": "read", "days": 7, "owner": auditor_user.pk},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(owner=auditor_user).scope == "read"


def test_page_revokes_own_token_but_not_anothers(operator_client, operator_user, admin_user):
    own, other = (
        tokens.find_token(token_for(operator_user)),
        tokens.find_token(token_for(admin_user)),
    )
    assert operator_client.post(reverse("api:token_revoke", args=[other.pk])).status_code == 404
    operator_client.post(reverse("api:token_revoke", args=[own.pk]))
    own.refresh_from_db(), other.refresh_from_db()
    assert own.revoked_at is not None and other.revoked_at is None


def test_the_command_line_issues_a_token_printed_once(operator_user):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command(
        "issue_api_token", operator_user.email, "--scope", "write", "--name", "ci", stdout=out
    )
    secret = out.getvalue().strip()
    token = tokens.find_token(secret)
    assert token.owner == operator_user and token.scope == "write" and token.created_by is None
    event = AuditEvent.objects.get(action=Action.API_TOKEN_CREATED)
    assert event.actor_type == "system" and secret not in str(event.details)


def test_a_session_writes_only_with_the_csrf_token(operator_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator_user)
    assert browser.get("/api/v1/tenants/").status_code == 200
    refused = browser.post("/api/v1/tenants/", NEW_TENANT, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not CustomerTenant.objects.exists()
    browser.get("/api/tokens/")  # any page sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    made = browser.post(
        "/api/v1/tenants/", NEW_TENANT, content_type="application/json", HTTP_X_CSRFTOKEN=csrf
    )
    assert made.status_code == 201
    event = AuditEvent.objects.get(action=Action.TENANT_CREATED)
    assert event.actor == operator_user and "api_access" not in event.details
