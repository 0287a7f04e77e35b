"""The tenant's state machine: every status, every event, every allowed move, in one table.

Services and tasks never set ``CustomerTenant.status`` themselves: they name the event that
happened and ``apply`` looks the move up here. Events that tasks and Microsoft's answers fire
(check results) are defined in every state, so a background job can never fail on a move; the
operator's own actions are refused with a clear message where they make no sense.

The README draws this table as a diagram; ``tests/tenants/test_lifecycle.py`` keeps the two
honest and walks random event sequences through the services.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils import timezone

from tenants.errors import InvalidTransition
from tenants.models import CustomerTenant, TenantStatus

S = TenantStatus


class Event(StrEnum):
    LINK_ISSUED = "link_issued"  # the operator created (or re-issued) a consent link
    CONSENT_GRANTED = "consent_granted"  # Microsoft's answer: admin_consent=True, no error
    CONSENT_DECLINED = "consent_declined"  # the admin said no (access_denied / AADSTS65004)
    CONSENT_FAILED = "consent_failed"  # any other error answer
    CHECK_PASSED = "check_passed"  # every verification check passed
    CHECK_FAILED = "check_failed"  # a definite answer says something is missing
    CHECK_REVOKED = "check_revoked"  # the operator app's service principal is gone or disabled
    CHECK_UNKNOWN = "check_unknown"  # Microsoft could not answer: no verdict
    OFFBOARD_STARTED = "offboard_started"  # the operator ends the tenant's access
    OFFBOARD_FINISHED = "offboard_finished"  # no assignment of the tenant is left anywhere


# Consent was given and not taken back: checks may move these tenants to attention.
CONSENTING = (S.CONSENTED, S.VERIFIED, S.ATTENTION)
# Tenants whose access is being or has been ended: no link, answer or check moves them.
LEAVING = (S.OFFBOARDING, S.OFFBOARDED)
# Where "Verify now" can tell the operator something: a link is out or consent was given.
VERIFIABLE = (S.INVITED, S.DECLINED, *CONSENTING, S.REVOKED)

_STAY = None  # in the table: the event leaves the status as it is

# A check's verdict in any state: a passing check proves consent; a failing one moves only a
# tenant that had consented; revocation is proven only where there was consent to lose.
_CHECKS: dict[str, dict[Event, str | None]] = {
    s: {
        Event.CHECK_PASSED: _STAY if s in LEAVING else S.VERIFIED,
        Event.CHECK_FAILED: S.ATTENTION if s in CONSENTING else _STAY,
        Event.CHECK_REVOKED: S.REVOKED if s in CONSENTING else _STAY,
        Event.CHECK_UNKNOWN: _STAY,
    }
    for s in S.values
}

# A "no" or a failure on a spare link never undoes an earlier "yes": only a check does.
_ANSWERS_AFTER_YES = {
    Event.LINK_ISSUED: _STAY,
    Event.CONSENT_GRANTED: S.CONSENTED,
    Event.CONSENT_DECLINED: _STAY,
    Event.CONSENT_FAILED: _STAY,
}
_ANSWERS_BEFORE_YES = {
    Event.LINK_ISSUED: S.INVITED,
    Event.CONSENT_GRANTED: S.CONSENTED,
    Event.CONSENT_DECLINED: S.DECLINED,
    Event.CONSENT_FAILED: S.ATTENTION,
}

_OFFBOARD = {Event.OFFBOARD_STARTED: S.OFFBOARDING}

TABLE: dict[str, dict[Event, str | None]] = {
    S.REGISTERED: _ANSWERS_BEFORE_YES | _CHECKS[S.REGISTERED] | _OFFBOARD,
    S.INVITED: _ANSWERS_BEFORE_YES | _CHECKS[S.INVITED] | _OFFBOARD,
    S.DECLINED: _ANSWERS_BEFORE_YES | _CHECKS[S.DECLINED] | _OFFBOARD,
    S.CONSENTED: _ANSWERS_AFTER_YES | _CHECKS[S.CONSENTED] | _OFFBOARD,
    S.VERIFIED: _ANSWERS_AFTER_YES | _CHECKS[S.VERIFIED] | _OFFBOARD,
    S.ATTENTION: _ANSWERS_AFTER_YES | _CHECKS[S.ATTENTION] | _OFFBOARD,
    # Consent was taken back: a new link invites again; an answer on it counts as a first one.
    S.REVOKED: _ANSWERS_BEFORE_YES | _CHECKS[S.REVOKED] | _OFFBOARD,
    # Leaving: links and answers have no move (they are refused); checks change nothing.
    S.OFFBOARDING: _CHECKS[S.OFFBOARDING] | {Event.OFFBOARD_FINISHED: S.OFFBOARDED},
    S.OFFBOARDED: dict(_CHECKS[S.OFFBOARDED]),
}


def target(status: str, event: Event) -> str:
    """The status ``event`` leads to from ``status``; InvalidTransition if it has no move."""
    moves = TABLE.get(status, {})
    if event not in moves:
        raise InvalidTransition(
            f"A tenant that is {dict(S.choices).get(status, status).lower()} cannot take "
            f"“{event.value.replace('_', ' ')}”."
        )
    return moves[event] or status


def apply(tenant: CustomerTenant, event: Event) -> dict[str, str]:
    """Move ``tenant`` (in memory; the caller saves and audits) and describe the move."""
    old = tenant.status
    new = target(old, event)
    if new != old:
        tenant.status = new
        tenant.status_changed_at = timezone.now()
    return {"from": old, "to": new, "event": event.value}


def mermaid() -> str:
    """The table as a Mermaid state diagram (the README shows it; a test keeps them equal)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.REGISTERED}"]
    for status, moves in TABLE.items():
        by_target: dict[str, list[str]] = {}
        for event, to in moves.items():
            if to and to != status:
                by_target.setdefault(to, []).append(event.value)
        for to, events in by_target.items():
            lines.append(f"    {status} --> {to}: {', '.join(events)}")
    return "\n".join(lines)
