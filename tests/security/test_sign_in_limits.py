"""Password guessing is rate limited per account and client address, so the guesser is locked out
and the account's owner, signing in from elsewhere, is not."""

import pytest

from audit.models import AuditEvent
from tests.conftest import PASSWORD

LOCKED = "Too many failed login attempts"
GUESSER = "203.0.113.66"
OWNER = "198.51.100.20"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _sign_in(client, password: str, ip: str = GUESSER) -> str:
    response = client.post(
        "/accounts/login/",
        {"login": "omar@contoso.example", "password": password},
        REMOTE_ADDR=ip,
    )
    return response.content.decode()


@pytest.mark.django_db
def test_repeated_wrong_passwords_lock_the_guessers_address(client, make_user):
    make_user("omar@contoso.example")
    pages = [_sign_in(client, f"wrong-{i}") for i in range(6)]
    assert LOCKED not in pages[0]
    assert LOCKED in pages[-1]
    # Even the right password is refused from the guesser's address while the lock holds.
    assert LOCKED in _sign_in(client, PASSWORD)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_owner_signs_in_from_another_address_while_the_guesser_is_locked(client, make_user):
    owner = make_user("omar@contoso.example")
    for i in range(6):
        _sign_in(client, f"wrong-{i}")
    assert LOCKED in _sign_in(client, PASSWORD)

    page = _sign_in(client, PASSWORD, ip=OWNER)

    assert LOCKED not in page
    assert client.session["_auth_user_id"] == str(owner.pk)


@pytest.mark.django_db
def test_a_lockout_is_audited_with_the_address(client, make_user):
    make_user("omar@contoso.example")
    for i in range(6):
        _sign_in(client, f"wrong-{i}")
    locked = AuditEvent.objects.filter(action="operator.sign_in_locked")
    assert locked.count() >= 1
    event = locked.first()
    assert event.target_label == "omar@contoso.example"
    assert event.ip == GUESSER


@pytest.mark.django_db
def test_failed_sign_ins_are_audited_without_the_password(client, make_user):
    make_user("omar@contoso.example")
    _sign_in(client, "hunter2-guess")
    event = AuditEvent.objects.get(action="operator.sign_in_failed")
    assert event.target_label == "omar@contoso.example"
    assert "hunter2" not in str(event.details)
