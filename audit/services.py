"""Writing audit events. Services call ``record_event`` inside their own transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.models import ActorType, AuditEvent
from audit.scrub import scrub
from portal.request_context import get_request_id


class Actor:
    """Who did it: an operator (user), a customer admin (tenant + IP) or the system."""

    def __init__(self, *, type: str, user=None, label: str = "", ip: str | None = None):
        self.type, self.user, self.label, self.ip = type, user, label, ip

    @classmethod
    def operator(cls, user, *, ip: str | None = None) -> Actor:
        return cls(type=ActorType.OPERATOR, user=user, label=user.email, ip=ip)

    @classmethod
    def customer_admin(cls, *, tenant_label: str, ip: str | None = None) -> Actor:
        return cls(type=ActorType.CUSTOMER_ADMIN, label=f"customer-admin ({tenant_label})", ip=ip)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(type=ActorType.SYSTEM, label=label)

    @classmethod
    def from_request(cls, request) -> Actor:
        return cls.operator(request.user, ip=client_ip(request))


def client_ip(request) -> str | None:
    """The client address as seen by the first trusted proxy (REMOTE_ADDR)."""
    return request.META.get("REMOTE_ADDR") or None


def record_event(
    *,
    actor: Actor,
    action: Action | str,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    tenant=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event. ``details`` is scrubbed of secrets before it is stored.

    Call inside the caller's ``transaction.atomic()`` so the event and the change it records
    commit or roll back together.
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}; add it to audit.actions.Action.")
    if target is not None:
        target_type = target_type or target._meta.model_name
        target_id = target_id or str(target.pk)
        target_label = target_label or str(target)
    with transaction.atomic():
        return AuditEvent.objects.create(
            at=timezone.now(),
            actor_type=actor.type,
            actor=actor.user,
            actor_label=actor.label[:254],
            action=str(action),
            target_type=target_type[:40],
            target_id=str(target_id)[:64],
            target_label=str(target_label)[:300],
            tenant=tenant,
            tenant_label=str(tenant)[:300] if tenant is not None else "",
            details=scrub(details or {}),
            ip=actor.ip,
            request_id=get_request_id() or "",
        )
