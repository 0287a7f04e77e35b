"""Signed webhooks (Standard Webhooks) through the guarded outbound client.

The body is the JSON payload; the headers are ``webhook-id`` (the delivery's id, the same on
every retry), ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>``,
one per valid secret, space separated, during a rotation's overlap), signed by the
``standardwebhooks`` library. Any 2xx is success; anything else, a timeout or a refused
destination is a failure. Redirects are not followed (``portal/outbound.py``).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from notifications.models import WebhookEndpoint
from notifications.secrets import decrypt
from notifications.transports import TransportError
from portal import outbound

USER_AGENT = "acs-entra-portal-webhooks/1"


def webhook_policy() -> outbound.Policy:
    """Any public host; ``WEBHOOK_ALLOWED_HOSTS`` may reach private addresses only when
    ``OUTBOUND_ALLOW_PRIVATE`` is on; http only where ``WEBHOOK_ALLOW_HTTP`` (never in
    production)."""
    base = outbound.Policy.build(
        suffixes=(),
        allowed_hosts=settings.WEBHOOK_ALLOWED_HOSTS,
        allow_private=settings.OUTBOUND_ALLOW_PRIVATE,
    )
    return dataclasses.replace(base, any_host=True, allow_http=settings.WEBHOOK_ALLOW_HTTP)


def check_webhook_url(url: str) -> str:
    """The URL if webhooks may be sent there; raises ``outbound.DestinationRefused``."""
    outbound.check_url(url, webhook_policy())
    return url.strip()


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    secrets = [decrypt(endpoint.secret_encrypted)]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_encrypted and until and until > timezone.now():
        secrets.append(decrypt(endpoint.previous_secret_encrypted))
    return secrets


def signed_request(
    endpoint: WebhookEndpoint, message_id: str, payload: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    now = datetime.now(UTC)
    signature = " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body)
        for secret in signing_secrets(endpoint)
    )
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return body.encode(), headers


def send(endpoint: WebhookEndpoint, message_id: str, payload: dict[str, Any]) -> int:
    """POST the signed payload; the response code on 2xx, else ``TransportError``."""
    try:
        check_webhook_url(endpoint.url)
    except outbound.DestinationRefused as exc:
        raise TransportError(str(exc), permanent=True) from None
    body, headers = signed_request(endpoint, message_id, payload)
    with outbound.client(webhook_policy(), timeout=settings.WEBHOOK_TIMEOUT) as http:
        try:
            response = http.post(endpoint.url, content=body, headers=headers)
        except httpx.TimeoutException:
            raise TransportError(f"No answer within {settings.WEBHOOK_TIMEOUT:g} s.") from None
        except httpx.HTTPError:
            raise TransportError(outbound.UNREACHABLE) from None
    if 200 <= response.status_code < 300:
        return response.status_code
    reason = "a redirect (not followed)" if response.is_redirect else "an error"
    raise TransportError(
        f"The receiver answered {response.status_code} ({reason}).",
        status_code=response.status_code,
    )
