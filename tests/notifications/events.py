"""Audit events the notification tests start from, written as the portal writes them."""

from __future__ import annotations

from audit.actions import Action
from audit.services import Actor, record_event


def consent_lost_event(tenant):
    """The event verification writes when a verified tenant's check fails."""
    return record_event(
        actor=Actor.system("verification (periodic)"),
        action=Action.CONSENT_CHECK_FAILED,
        target=tenant,
        tenant=tenant,
        details={
            "check": 1,
            "trigger": "periodic",
            "failed": ["delegated_grant"],
            "status": {"from": "verified", "to": "attention"},
        },
    )
