"""The invited operator's one-time password is shown once, from the server, never in a cookie."""

from __future__ import annotations

import re

import pytest

from portal.models import User


def _invite(admin_client):
    return admin_client.post(
        "/operators/",
        {"invite": "1", "email": "new.operator@contoso.example", "role": "operator"},
    )


@pytest.mark.django_db
def test_the_one_time_password_never_travels_in_a_cookie(admin_client):
    response = _invite(admin_client)
    assert response.status_code == 302

    page = admin_client.get("/operators/").content.decode()
    password = re.search(r'data-one-time-password="([^"]+)"', page).group(1)

    assert User.objects.get(email="new.operator@contoso.example").check_password(password)
    for cookie in [*response.cookies.values(), *admin_client.cookies.values()]:
        assert password not in cookie.value


@pytest.mark.django_db
def test_the_one_time_password_is_shown_once(admin_client):
    _invite(admin_client)
    first = admin_client.get("/operators/").content.decode()
    assert "data-one-time-password" in first
    assert "new.operator@contoso.example" in first

    again = admin_client.get("/operators/").content.decode()
    assert "data-one-time-password" not in again
