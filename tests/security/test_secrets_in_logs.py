"""Secrets never reach the logs: a full flow is logged at DEBUG and the output is searched.

Every logger (ours, Django's, msal, httpx, urllib3, Celery) logs at DEBUG through the same
filters as production, and the real Celery worker's log file is searched too.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from audit.models import AuditEvent
from cloudsim import ids
from portal.logging import RedactSecretsFilter, RequestIdFilter
from portal.models import Role
from tests.support.microsoft import SIGN_IN_CALLBACK, consent, invite, sign_in, wait_for_status

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")


@pytest.fixture
def production_like_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    previous = (
        root.level,
        {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict},
    )
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in previous[1]:
        logging.getLogger(name).setLevel(logging.NOTSET)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous[0])
    for name, level in previous[1].items():
        logging.getLogger(name).setLevel(level)


def test_a_full_flow_logs_no_secret(
    client, make_user, cloudsim_clean, microsoft_env, celery_worker, settings, production_like_log
):
    from audit.services import Actor
    from tenants import graph

    graph.reset_token_caches()
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    cloudsim_clean.admin("POST", "/apps/redirect-uris", {"redirectUris": [SIGN_IN_CALLBACK]})
    operator = make_user("ops@contoso.example", Role.OPERATOR)

    signed_in = sign_in(client, cloudsim_clean, "ops@contoso.example")
    assert signed_in.status_code == 302
    tenant, issued = invite(Actor.operator(operator), ids.FABRIKAM_DOMAIN)
    client.logout()
    callback, page = consent(client, cloudsim_clean, issued.token, "admin@fabrikam.example")
    assert page.status_code == 200
    client.get(f"/consent/{issued.token}/")  # a used link, opened again
    client.get(callback)  # a replayed callback: 400, logged as a warning
    wait_for_status(tenant, "verified")

    state = re.search(r"state=([^&]+)", callback).group(1)
    secrets = {
        "client secret": django_settings.ENTRA_CLIENT_SECRET,
        "ACS key": microsoft_env["ACS_DEMO_ACCESS_KEY"],
        "consent token": issued.token,
        "consent state": state,
        "demo password": ids.DEMO_PASSWORD,
    }
    logs = production_like_log.getvalue()
    worker_log = Path(celery_worker.log_path).read_text(errors="replace")
    assert "consent" in logs.lower() and len(logs) > 1000  # the flow really was logged
    for where, text in (("portal", logs), ("worker", worker_log)):
        for name, value in secrets.items():
            assert value not in text, f"{name} found in the {where} log"
        assert not JWT.search(text), (
            f"a token found in the {where} log: {JWT.search(text)[0][:20]}…"
        )
    events = " ".join(str(e.details) for e in AuditEvent.objects.all())
    for name, value in secrets.items():
        assert value not in events, f"{name} found in the audit log"
