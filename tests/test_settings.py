"""Settings come from the environment; production refuses demo defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STRONG_KEY = "k" * 20 + "9f8e7d6c5b4a39281706f5e4d3c2b1a0" + "Zz"

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], "
    "'db': s.DATABASES['default']['NAME'], 'broker': s.CELERY_BROKER_URL, "
    "'backend': s.CELERY_RESULT_BACKEND, 'cache': s.CACHES['default']['BACKEND'], "
    "'secure_cookie': s.SESSION_COOKIE_SECURE, 'hsts': s.SECURE_HSTS_SECONDS, "
    "'authority': s.ENTRA_AUTHORITY_HOST, 'apps': s.SOCIALACCOUNT_PROVIDERS['microsoft']['APPS'], "
    "'hosts': s.ALLOWED_HOSTS, 'debug': s.DEBUG}))"
)


def _run(code: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_", "DJANGO_", "ENTRA_", "CELERY_"))
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_ENV": "development"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, *code],
        cwd=BASE_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(**env: str) -> dict:
    result = _run(["-c", SHOW], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_demo_defaults_need_nothing_installed():
    s = _settings()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["broker"] == "filesystem://"
    assert s["backend"].startswith("file://")
    assert s["cache"].endswith("FileBasedCache")
    assert s["apps"] == []  # no Microsoft sign-in until ENTRA_CLIENT_ID/SECRET are set


def test_only_the_base_urls_host_is_allowed_by_default():
    # With "*", a forged Host header reached password-reset links (issue 12.4).
    assert _settings()["hosts"] == ["127.0.0.1"]
    assert _settings(PORTAL_BASE_URL="https://portal.contoso.example/")["hosts"] == [
        "portal.contoso.example"
    ]
    assert _settings(DJANGO_ALLOWED_HOSTS="a.example,b.example")["hosts"] == [
        "a.example",
        "b.example",
    ]


def test_database_and_redis_urls_are_used():
    s = _settings(
        DATABASE_URL="postgres://portal:pw@db.internal:5432/portal",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["db"] == "portal"
    assert s["broker"] == s["backend"] == "redis://cache.internal:6379/2"
    assert s["cache"].endswith("RedisCache")


def test_microsoft_settings_come_from_the_environment():
    s = _settings(
        ENTRA_AUTHORITY_HOST="https://login.microsoftonline.us/",
        ENTRA_CLIENT_ID="0bea7a00-0000-4000-8000-0000000000a1",
        ENTRA_CLIENT_SECRET="s3cret",
        ENTRA_HOME_TENANT_ID="C0A7C0A7-0000-4000-8000-000000000001",
    )
    assert s["authority"] == "https://login.microsoftonline.us"
    (app,) = s["apps"]
    assert app["settings"]["tenant"] == "c0a7c0a7-0000-4000-8000-000000000001"
    assert app["settings"]["login_url"] == "https://login.microsoftonline.us"


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _run(["-c", SHOW], DJANGO_ENV="production", DJANGO_ALLOWED_HOSTS="portal.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    demo = _run(
        ["-c", SHOW],
        DJANGO_ENV="production",
        DJANGO_ALLOWED_HOSTS="portal.example",
        DJANGO_SECRET_KEY="demo-insecure-secret-key-do-not-use-in-production",
    )
    assert demo.returncode != 0


def test_production_secret_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(STRONG_KEY + "\n")
    s = _settings(
        DJANGO_ENV="production",
        DJANGO_ALLOWED_HOSTS="portal.example",
        DJANGO_SECRET_KEY_FILE=str(key_file),
    )
    assert s["secure_cookie"] is True
    assert s["hsts"] >= 31536000


def test_production_passes_check_deploy_without_warnings():
    result = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=STRONG_KEY,
        DJANGO_ALLOWED_HOSTS="portal.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
