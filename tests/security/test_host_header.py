"""A forged Host header cannot put its host into a link the portal sends or shows.

Absolute URLs come from PORTAL_BASE_URL, never from the request; and by default only the base
URL's host is accepted at all.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.cache import cache

BASE = "https://portal.contoso.example"


@pytest.fixture(autouse=True)
def _fresh_limits():
    # Password-reset mails are rate limited per address (in the cache).
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def any_host(settings):
    """An installation that accepts every Host (DJANGO_ALLOWED_HOSTS=*), as every non-production
    mode did by default."""
    settings.ALLOWED_HOSTS = ["*"]
    settings.PORTAL_BASE_URL = BASE
    return settings


@pytest.mark.django_db
def test_password_reset_mail_links_to_the_portal_whatever_the_host(client, any_host, make_user):
    make_user("omar@contoso.example")

    response = client.post(
        "/accounts/password/reset/", {"email": "omar@contoso.example"}, HTTP_HOST="evil.example"
    )

    assert response.status_code == 302
    (message,) = mail.outbox
    assert "evil.example" not in message.body
    links = re.findall(r"https?://[^\s]+", message.body)
    assert links and all(link.startswith(f"{BASE}/accounts/password/reset/key/") for link in links)


@pytest.mark.django_db
def test_the_portal_name_in_mails_is_not_taken_from_the_host(client, any_host, make_user):
    make_user("omar@contoso.example")
    client.post(
        "/accounts/password/reset/", {"email": "omar@contoso.example"}, HTTP_HOST="evil.example"
    )
    (message,) = mail.outbox
    assert "evil.example" not in message.subject
