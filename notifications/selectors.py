"""Reads for the notification pages."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Count, QuerySet

from notifications.models import Delivery, Subscription, WebhookEndpoint

OUTBOX_LIMIT = 50


def endpoints() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.annotate(delivery_count=Count("deliveries")).select_related(
        "subscription"
    )


def deliveries(endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return endpoint.deliveries.prefetch_related("tries")


def subscription_of(user) -> Subscription | None:
    return Subscription.objects.filter(user=user).prefetch_related("tenants", "resources").first()


@dataclass(frozen=True)
class OutboxMail:
    name: str
    at: datetime
    subject: str
    to: str
    text: str


def outbox() -> list[OutboxMail]:
    """The newest mails the file email backend wrote (the demo's outbox), newest first."""
    directory = Path(settings.EMAIL_FILE_PATH)
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.log"), key=lambda p: p.stat().st_mtime, reverse=True)
    mails = []
    for path in files[:OUTBOX_LIMIT]:
        # One file per connection; messages are separated by a line of dashes.
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if not raw.strip():
                continue
            message = email.message_from_bytes(raw.lstrip(), policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            mails.append(
                OutboxMail(
                    name=path.name,
                    at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                    subject=str(message["Subject"] or ""),
                    to=str(message["To"] or ""),
                    text=body.get_content() if body is not None else "",
                )
            )
    return mails
