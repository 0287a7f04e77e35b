"""Expiry watch: the operator app's own client secrets and certificates, read through Graph.

``GET /applications?$filter=appId eq '…'`` in the home tenant returns ``passwordCredentials``
and ``keyCredentials`` with their ``endDateTime`` (``docs/microsoft/app-credentials.md``). When
one is within a threshold of ``CREDENTIAL_EXPIRY_WARN_DAYS`` (default 30, 7 and 1 days), an
``operator.credential_expiring`` event is raised once per credential and threshold; operators
subscribe to it as "Operator app credential expiring". An expired one is reported at 0 days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from tenants import graph


@dataclass(frozen=True)
class Expiring:
    credential: graph.AppCredential
    days_left: int
    threshold: int


def _already(key_id: str, threshold: int) -> bool:
    return AuditEvent.objects.filter(
        action=Action.CREDENTIAL_EXPIRING, target_id=key_id, details__threshold=threshold
    ).exists()


def read_credentials() -> list[graph.AppCredential]:
    """The operator app's secrets and certificates, read through Graph in the home tenant
    (an empty list when the registration is not found)."""
    found = graph.get_application_credentials(
        tenant_id=settings.ENTRA_HOME_TENANT_ID, app_id=settings.ENTRA_CLIENT_ID
    )
    return list(found or [])


def days_left(credential: graph.AppCredential, now: datetime) -> int | None:
    """Whole days left, rounded up (a secret ending in 9 days and 23 hours has 10); 0 once
    ended; None for a credential without an end date (it never expires)."""
    if credential.end is None:
        return None
    return max(0, math.ceil((credential.end - now).total_seconds() / 86400))


def expiring(now: datetime | None = None) -> list[Expiring]:
    """Credentials that crossed a warning threshold not reported yet (reads Graph)."""
    now = now or timezone.now()
    out = []
    for credential in read_credentials():
        left = days_left(credential, now)
        if left is None:
            continue
        crossed = [t for t in sorted(settings.CREDENTIAL_EXPIRY_WARN_DAYS) if left <= t]
        if crossed and not _already(credential.key_id, crossed[0]):
            out.append(Expiring(credential, left, crossed[0]))
    return out
