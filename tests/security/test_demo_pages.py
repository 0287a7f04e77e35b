"""The demo (``make run``) shows no debug pages: no settings, passwords or URL list to anyone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from portal.demo import demo_environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# In a process configured as the demo configures its web server, with DATABASE_URL and REDIS_URL
# carrying passwords: a missing page, a page that raises, and a static file.
PROBE = """
import json, django
django.setup()
from django.test import Client
from django.urls import path
import portal.urls

def boom(request):
    raise RuntimeError("boom")

portal.urls.urlpatterns.append(path("boom/", boom))
client = Client(SERVER_NAME="127.0.0.1", raise_request_exception=False)
answers = {}
for url in ("/no-such-page/", "/boom/", "/static/css/portal.css"):
    response = client.get(url)
    body = b"".join(response) if response.streaming else response.content
    answers[url] = [response.status_code, body.decode(errors="replace")]
print(json.dumps(answers))
"""


def _demo_answers(tmp_path) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env = demo_environment(clean, "127.0.0.1", "8000")
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
            "REDIS_URL": "redis://:r3dis-pa55@127.0.0.1:1/0",
            "EMAIL_HOST_PASSWORD": "m4il-pa55",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_demo_error_pages_reveal_nothing_and_static_files_are_served(tmp_path):
    answers = _demo_answers(tmp_path)

    status, page = answers["/no-such-page/"]
    assert status == 404
    assert "URLconf" not in page and "accounts/" not in page and "audit/" not in page
    status, page = answers["/boom/"]
    assert status == 500
    for secret in ("r3dis-pa55", "m4il-pa55", "REDIS_URL", "Traceback", "RuntimeError"):
        assert secret not in page
    status, css = answers["/static/css/portal.css"]
    assert status == 200 and "{" in css
