"""Password guessing is rate limited and locks the account's sign-in for a while."""

import pytest

from audit.models import AuditEvent
from tests.conftest import PASSWORD

LOCKED = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _sign_in(client, password: str) -> str:
    response = client.post(
        "/accounts/login/", {"login": "omar@contoso.example", "password": password}
    )
    return response.content.decode()


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_account(client, make_user):
    make_user("omar@contoso.example")
    pages = [_sign_in(client, f"wrong-{i}") for i in range(6)]
    assert LOCKED not in pages[0]
    assert LOCKED in pages[-1]
    # Even the right password is refused while the lock holds.
    assert LOCKED in _sign_in(client, PASSWORD)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_failed_sign_ins_are_audited_without_the_password(client, make_user):
    make_user("omar@contoso.example")
    _sign_in(client, "hunter2-guess")
    event = AuditEvent.objects.get(action="operator.sign_in_failed")
    assert event.target_label == "omar@contoso.example"
    assert "hunter2" not in str(event.details)
