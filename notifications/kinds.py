"""The event kinds a subscription can name, each read from committed audit events.

A kind is a predicate over an audit event's action and scrubbed details, with a label for
pages and a cause for messages. The audit log is the only trigger (netbox event rules,
authentik notification rules): a kind never needs a hook of its own in the code that acts.
Payloads carry ``<kind>.v1`` as their type; a change of shape gets ``.v2`` beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import ngettext

from audit.actions import Action

PAYLOAD_VERSION = "v1"
# A tenant that had consented and now fails its check has lost access (revoked consent,
# removed service principal, deleted group): "consent lost" rather than only "check failing".
_HAD_CONSENT = {"consented", "verified"}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    actions: frozenset[str]
    matches: Callable[[dict[str, Any]], bool] = lambda details: True
    cause: Callable[[dict[str, Any]], str] = lambda details: ""

    @property
    def type(self) -> str:
        """The versioned event type of webhook payloads (``consent.lost.v1``)."""
        return f"{self.key}.{PAYLOAD_VERSION}"


def _status(details: dict[str, Any]) -> dict[str, str]:
    status = details.get("status")
    return status if isinstance(status, dict) else {}


def _lost(details: dict[str, Any]) -> bool:
    status = _status(details)
    return status.get("from") in _HAD_CONSENT and status.get("to") in ("attention", "revoked")


# Consent lost by a cause the check names (tenants/verification.py CAUSES): its own action.
_LOST_BY_CAUSE = frozenset(
    {
        Action.CONSENT_GRANT_LOST,
        Action.CONSENT_ACS_CLIENTS_LOST,
        Action.CONSENT_GROUP_LOST,
        Action.CONSENT_LICENCE_LOST,
        Action.CREDENTIAL_EXPIRED,
    }
)


def _lost_or_cause(details: dict[str, Any]) -> bool:
    return bool(details.get("cause")) or _lost(details)


def _lost_cause(details: dict[str, Any]) -> str:
    if details.get("cause_label"):
        return f"{details['cause_label']}. Remedy: {details.get('remedy', '')}".strip()
    return _failed_checks(details)


def _failed_checks(details: dict[str, Any]) -> str:
    failed = details.get("failed") or []
    return "Failing checks: " + ", ".join(map(str, failed)) if failed else ""


def _consent_error(details: dict[str, Any]) -> str:
    code = details.get("error_code") or details.get("error") or ""
    return f"Microsoft answered {code}." if code else ""


def _sync_counts(details: dict[str, Any]) -> str:
    return (
        f"Sync {details.get('status', '')}: {details.get('failed', 0)} failed, "
        f"{details.get('created', 0)} created, {details.get('deleted', 0)} deleted."
    )


_REQUEST_REASONS = {
    "expired": "The link expired",
    "revoked": "The link was withdrawn",
    "other_tenant": "Consent came back from another organization",
    "failed": "Consent failed",
}


def _link_request(details: dict[str, Any]) -> str:
    reason = _REQUEST_REASONS.get(str(details.get("reason") or ""), "")
    return f"{reason}; the customer admin asks for a new one." if reason else ""


def _days(details: dict[str, Any]) -> str:
    days = details.get("days_left")
    if days is None:
        return ""
    return ngettext("%(days)s day left.", "%(days)s days left.", int(days)) % {"days": days}


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind("consent.granted", "Consent granted", frozenset({Action.CONSENT_GRANTED})),
        Kind(
            "consent.declined",
            "Consent declined",
            frozenset({Action.CONSENT_DECLINED}),
            cause=_consent_error,
        ),
        Kind(
            "consent.failed",
            "Consent failed",
            frozenset({Action.CONSENT_FAILED}),
            cause=_consent_error,
        ),
        Kind(
            "consent.lost",
            "Consent lost",
            frozenset({Action.CONSENT_CHECK_FAILED, Action.CONSENT_REVOKED} | _LOST_BY_CAUSE),
            matches=_lost_or_cause,
            cause=_lost_cause,
        ),
        Kind(
            "check.failing",
            "Consent check failing",
            frozenset({Action.CONSENT_CHECK_FAILED} | _LOST_BY_CAUSE),
            cause=_failed_checks,
        ),
        Kind(
            "sync.failed",
            "Sync failed or partial",
            frozenset({Action.SYNC_FINISHED}),
            matches=lambda d: d.get("status") in {"failed", "partial"},
            cause=_sync_counts,
        ),
        Kind("link.opened", "Consent link opened", frozenset({Action.CONSENT_LINK_OPENED})),
        Kind(
            "link.requested",
            "New consent link requested",
            frozenset({Action.CONSENT_LINK_REQUESTED}),
            cause=_link_request,
        ),
        Kind(
            "link.expiring",
            "Consent link expiring unanswered",
            frozenset({Action.CONSENT_LINK_EXPIRING}),
            cause=_days,
        ),
        Kind(
            "credential.expiring",
            "Operator app credential expiring",
            frozenset({Action.CREDENTIAL_EXPIRING}),
            cause=_days,
        ),
    )
}
KIND_CHOICES = [(k.key, k.label) for k in KINDS.values()]
WATCHED_ACTIONS = frozenset().union(*(k.actions for k in KINDS.values()))


def kinds_of(action: str, details: dict[str, Any]) -> list[Kind]:
    """The kinds an audit event with this action and these details belongs to."""
    if action not in WATCHED_ACTIONS:
        return []
    return [k for k in KINDS.values() if action in k.actions and k.matches(details)]
