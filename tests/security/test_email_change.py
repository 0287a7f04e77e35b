"""A sign-in address changes only when an admin asks, its new mailbox confirms, and it is audited.

The address is the login, the audit label and the Microsoft sign-in match key: an auditor who
could change their own through allauth's email page could take over another person's identity.
"""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache

from audit.models import AuditEvent
from portal.models import Role, User
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("role", Role.values)
def test_nobody_changes_their_own_address_through_the_email_page(client, make_user, role):
    user = make_user(f"{role}@contoso.example", role)
    client.force_login(user)

    for action in ("action_add", "action_primary", "action_send"):
        response = client.post("/accounts/email/", {action: "", "email": "me@evil.example"})
        assert response.status_code == 403

    user.refresh_from_db()
    assert user.email == f"{role}@contoso.example"
    assert not EmailAddress.objects.filter(email="me@evil.example").exists()
    assert client.get("/accounts/email/").status_code == 200


def _confirmation_link(message) -> str:
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


@pytest.mark.django_db
def test_an_admin_changes_an_operators_address_once_the_new_mailbox_confirms(
    admin_client, make_user, client, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "http://testserver"
    omar = make_user("omar@contoso.example", Role.OPERATOR)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/operators/",
            {"change_email": "1", "user_id": omar.pk, "email": "Omar.New@Contoso.example"},
        )

    assert response.status_code == 302
    omar.refresh_from_db()
    assert omar.email == "omar@contoso.example"  # not before confirmation
    requested = AuditEvent.objects.get(action="operator.email_change_requested")
    assert requested.details["to"] == "omar.new@contoso.example"
    (message,) = mail.outbox
    assert message.to == ["omar.new@contoso.example"]

    link = _confirmation_link(message).removeprefix("http://testserver")
    client.post(link)

    omar.refresh_from_db()
    assert omar.email == "omar.new@contoso.example"
    changed = AuditEvent.objects.get(action="operator.email_changed")
    assert (
        changed.details == {"from": "", "to": "omar.new@contoso.example"}
        or changed.details["to"] == "omar.new@contoso.example"
    )
    assert client.login(email="omar.new@contoso.example", password=PASSWORD)
    assert not User.objects.filter(email="omar@contoso.example").exists()


@pytest.mark.django_db
def test_an_address_in_use_is_refused_and_nothing_changes(admin_client, make_user):
    omar = make_user("omar@contoso.example", Role.OPERATOR)
    make_user("aiko@contoso.example", Role.AUDITOR)

    admin_client.post(
        "/operators/", {"change_email": "1", "user_id": omar.pk, "email": "aiko@contoso.example"}
    )

    page = admin_client.get("/operators/").content.decode()
    assert "Another account uses the address aiko@contoso.example" in page
    assert not AuditEvent.objects.filter(action="operator.email_change_requested").exists()
    assert mail.outbox == []
