"""With Redis down, the pages that do not need it keep answering: sign-in and both consent pages.

A real portal process runs with ``REDIS_URL`` (cache and broker) pointing to a closed port, on the
test database and cloudsim; the customer admin's journey and an operator's sign-in go through it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

from audit.services import Actor
from cloudsim import ids
from tests.conftest import PASSWORD
from tests.support import worker
from tests.support.microsoft import answer_at_microsoft, invite

pytestmark = [pytest.mark.integration]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def portal_without_redis(microsoft, microsoft_env, tmp_path) -> Iterator[str]:
    """The portal on a free port, its Redis a closed port (nothing listens there)."""
    port = _free_port()
    env = {
        **os.environ,
        **microsoft_env,
        "DATABASE_URL": worker.test_database_url(),
        "REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
        "PORTAL_VAR_DIR": str(tmp_path),
        "PORTAL_BASE_URL": "http://127.0.0.1:8000",  # the redirect URI cloudsim has registered
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_ENV": "development",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    log = (tmp_path / "web.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "web.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=20)


def _csrf(http: httpx.Client, path: str) -> str:
    page = http.get(path)
    assert page.status_code == 200, page.text[:500]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


@pytest.mark.django_db(transaction=True)
def test_sign_in_works_with_redis_down(portal_without_redis, make_user, tmp_path):
    make_user("omar@contoso.example")
    with httpx.Client(base_url=portal_without_redis, timeout=30) as http:
        wrong = http.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": _csrf(http, "/accounts/login/"),
                "login": "omar@contoso.example",
                "password": "not-the-password",
            },
        )
        assert wrong.status_code == 200
        assert "not correct" in wrong.text
        right = http.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": _csrf(http, "/accounts/login/"),
                "login": "omar@contoso.example",
                "password": PASSWORD,
            },
        )
        assert right.status_code == 302, right.text[:2000]
        assert http.get("/").status_code == 200
    # The sign-in limits went on in this process's memory, and the log says so.
    assert "Redis cache unreachable" in (tmp_path / "web.log").read_text(errors="replace")


@pytest.mark.django_db(transaction=True)
def test_both_consent_pages_answer_with_redis_down(portal_without_redis, microsoft, operator_user):
    _, issued = invite(Actor.operator(operator_user), ids.FABRIKAM_DOMAIN)
    with httpx.Client(base_url=portal_without_redis, timeout=30) as http:
        landing = http.get(f"/consent/{issued.token}/")
        assert landing.status_code == 200
        go = http.post(
            f"/consent/{issued.token}/",
            data={"csrfmiddlewaretoken": _csrf(http, f"/consent/{issued.token}/")},
        )
        assert go.status_code == 302, go.text[:2000]
        back = urlsplit(
            answer_at_microsoft(
                microsoft, go.headers["location"], "admin@fabrikam.example", "approve"
            )
        )
        result = http.get(f"{back.path}?{back.query}")
        assert result.status_code == 200, result.text[:2000]
        assert "consent was granted" in result.text
