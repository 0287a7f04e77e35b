"""What a notification says: one JSON payload per event, shared by email and webhooks.

Shape (Standard Webhooks): ``{"type", "timestamp", "data"}``. ``data`` holds the audit event
as the audit log shows it (details already scrubbed of secrets by ``audit.scrub``), the cause
in words and a link back to the page that shows it. README.md documents every field.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from notifications.kinds import PAYLOAD_VERSION, Kind

PING_TYPE = f"webhook.ping.{PAYLOAD_VERSION}"


def absolute(path: str) -> str:
    return f"{settings.PORTAL_BASE_URL}{path}"


def page_for(event: AuditEvent) -> str:
    """The page an operator opens to act on the event."""
    details = event.details or {}
    if event.action == "sync.finished" and details.get("run"):
        return absolute(reverse("assignments:run", args=[details["run"]]))
    if event.tenant_id:
        return absolute(reverse("tenants:detail", args=[event.tenant_id]))
    return absolute(reverse("audit:event", args=[event.pk]))


def event_payload(event: AuditEvent, kind: Kind) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": kind.key,
        "label": kind.label,
        "cause": kind.cause(event.details or {}),
        "url": page_for(event),
        "audit_event": {
            "id": event.pk,
            "action": event.action,
            "at": event.at.isoformat(),
            "actor": event.actor_label,
            "target": {
                "type": event.target_type,
                "id": event.target_id,
                "label": event.target_label,
            },
            "details": event.details,
        },
        "tenant": (
            {"id": event.tenant_id, "name": event.tenant_label} if event.tenant_id else None
        ),
    }
    return {"type": kind.type, "timestamp": event.at.isoformat(), "data": data}


def ping_payload(endpoint_name: str) -> dict[str, Any]:
    now = timezone.now()
    return {
        "type": PING_TYPE,
        "timestamp": now.isoformat(),
        "data": {
            "kind": "webhook.ping",
            "label": "Test ping",
            "cause": f"A test ping for {endpoint_name}.",
            "url": absolute(reverse("notifications:webhooks")),
        },
    }
