"""No hostile ``next`` value sends a signed-in operator off the portal."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from portal.models import Role
from tests.conftest import PASSWORD

HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "http:evil.example",
    "https:/evil.example",
    "https:///evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\t//evil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "http://127.0.0.1.evil.example/",
    "https://testserver@evil.example/",
    "//testserver@evil.example",
]


def _is_local(location: str) -> bool:
    """Absolute URLs must name this host; relative ones must not be scheme- or host-relative."""
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.netloc in {"testserver"} and parts.scheme in {"http", "https"}
    return not location.lstrip().startswith(("//", "/\\", "\\"))


@pytest.mark.django_db
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_redirects_off_site(client, make_user, target):
    make_user("omar@contoso.example", Role.OPERATOR)
    response = client.post(
        "/accounts/login/", {"login": "omar@contoso.example", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert _is_local(response["Location"]), response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_out_never_redirects_off_site(operator_client, target):
    response = operator_client.post("/accounts/logout/", {"next": target})
    assert response.status_code == 302
    assert _is_local(response["Location"]), response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_anonymous_redirect_to_sign_in_keeps_next_local(client, target):
    response = client.get("/", {"next": target})
    assert response.status_code == 302
    assert _is_local(response["Location"])
