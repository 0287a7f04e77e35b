"""Reminders for unanswered consent links: the schedule, and the sweep that sends them.

Steps: ``CONSENT_REMINDER_DAYS`` after the link was made (``after:2``, ``after:7``) and
``CONSENT_REMINDER_BEFORE_EXPIRY_DAYS`` before it expires (``before_expiry:1``). A step is due
once its time has passed while the link is open: not answered, used, revoked or expired, not
stopped, and with an admin address. Each step is sent at most once, and only the latest due
step is sent (earlier ones a late sweep missed are skipped).

The portal keeps only a hash of a link's token, so a reminder cannot carry the link itself:
it names the email the admin got and when the link expires, and says whom to ask for a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from tenants.models import ConsentLink


@dataclass(frozen=True)
class Step:
    key: str
    due_at: datetime
    sent_at: datetime | None


def schedule(link: ConsentLink) -> list[Step]:
    """Every reminder step of the link, in time order, with when it was sent (if it was)."""
    sent = {r.step: r.sent_at for r in link.reminders.all()}
    steps = [
        (f"after:{d}", link.created_at + timedelta(days=d)) for d in settings.CONSENT_REMINDER_DAYS
    ]
    before = settings.CONSENT_REMINDER_BEFORE_EXPIRY_DAYS
    if before:
        steps.append((f"before_expiry:{before}", link.expires_at - timedelta(days=before)))
    return [
        Step(key, due, sent.get(key))
        for key, due in sorted(steps, key=lambda s: s[1])
        if due < link.expires_at
    ]


def stopped_because(link: ConsentLink) -> str:
    """Why no more reminders go out ('' while they do)."""
    if link.outcome:
        return "the admin answered"
    if link.unavailable_reason:
        return f"the link is {link.unavailable_reason}"
    if hasattr(link, "reminder_stop"):
        return "an operator stopped them"
    if not link.admin_email:
        return "the link has no admin address"
    return ""


def open_links():
    now = timezone.now()
    return ConsentLink.objects.select_related("tenant").filter(
        used_at__isnull=True,
        revoked_at__isnull=True,
        outcome="",
        expires_at__gt=now,
        reminder_stop__isnull=True,
    )


def due_reminders(now: datetime | None = None) -> list[tuple[ConsentLink, str]]:
    now = now or timezone.now()
    due: list[tuple[ConsentLink, str]] = []
    for link in open_links().exclude(admin_email="").prefetch_related("reminders"):
        # Only the latest step that is due: a sweep that was late sends one mail, not three.
        latest = [s for s in schedule(link) if s.due_at <= now][-1:]
        due.extend((link, s.key) for s in latest if s.sent_at is None)
    return due


def expiring_links(now: datetime | None = None) -> list[tuple[ConsentLink, int]]:
    """Open links within ``CONSENT_LINK_EXPIRING_DAYS`` of expiry not flagged yet."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.CONSENT_LINK_EXPIRING_DAYS)
    flagged = set(
        AuditEvent.objects.filter(
            action=Action.CONSENT_LINK_EXPIRING, target_type="consentlink"
        ).values_list("target_id", flat=True)
    )
    return [
        (link, max(0, (link.expires_at - now).days))
        for link in open_links().filter(expires_at__lte=horizon)
        if str(link.pk) not in flagged
    ]


def reminder_context(link: ConsentLink) -> dict:
    return {
        "tenant": str(link.tenant),
        "operator_name": settings.OPERATOR_NAME,
        "sent_on": link.created_at,
        "expires_at": link.expires_at,
        "note": link.note,
    }
