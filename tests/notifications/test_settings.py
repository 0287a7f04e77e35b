"""Notification settings come from the environment; production refuses plain-http webhooks."""

from __future__ import annotations

import json

from tests.test_settings import STRONG_KEY, _run

SHOW = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'backend': s.EMAIL_BACKEND, 'host': s.EMAIL_HOST, 'port': s.EMAIL_PORT, "
    "'user': s.EMAIL_HOST_USER, 'tls': s.EMAIL_USE_TLS, 'http': s.WEBHOOK_ALLOW_HTTP}))"
)
PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_ALLOWED_HOSTS": "portal.example"}


def _show(**env: str) -> dict:
    result = _run(["-c", SHOW], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_email_url_configures_smtp_in_one_variable():
    s = _show(EMAIL_URL="smtp+tls://mailer:pw@smtp.contoso.example:587")
    assert s["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (s["host"], s["port"], s["user"], s["tls"]) == (
        "smtp.contoso.example",
        587,
        "mailer",
        True,
    )


def test_production_sends_smtp_and_refuses_plain_http_webhooks():
    s = _show(DJANGO_SECRET_KEY=STRONG_KEY, **PRODUCTION)
    assert s["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert s["http"] is False
    refused = _run(
        ["-c", SHOW], DJANGO_SECRET_KEY=STRONG_KEY, WEBHOOK_ALLOW_HTTP="True", **PRODUCTION
    )
    assert refused.returncode != 0
    assert "WEBHOOK_ALLOW_HTTP must be False in production" in refused.stderr
