"""Issuing, checking and revoking API tokens. Each change writes its audit event.

A token reads ``acsp_<prefix>_<secret>`` (prefix: 8 hex characters naming the row; secret: 256
random bits). Only the SHA-256 of the whole token is stored, so the token is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import ApiToken, Scope
from audit.actions import Action
from audit.models import ActorType
from audit.services import Actor, record_event
from portal.models import Role, User

PREFIX = "acsp_"
MAX_DAYS = 366
DEFAULT_DAYS = 90
# last_used_at is written at most this often per token (each write is a row update).
LAST_USED_RESOLUTION = timedelta(seconds=60)


class TokenError(Exception):
    """A token request the rules refuse; the message is meant for the operator."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # the whole bearer value, shown once


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def allowed_scopes(user: User) -> list[str]:
    """The scopes a token of ``user`` may carry: a read-only role gets read tokens only."""
    return [Scope.READ, Scope.WRITE] if user.can_write else [Scope.READ]


def issue_token(
    *, actor: Actor, owner: User, name: str, scope: str = Scope.READ, days: int = DEFAULT_DAYS
) -> IssuedToken:
    """Issue a token for ``owner``. An operator issues their own; an admin issues anyone's.

    The scope stays within the owner's role (an auditor's token is read-only). A system actor
    (``manage.py issue_api_token``) issues for anyone.
    """
    issuer = actor.user
    if issuer is None:
        if actor.type != ActorType.SYSTEM:  # the command line, run by whoever runs the server
            raise TokenError("Only a signed-in operator issues tokens.")
    elif not issuer.is_active:
        raise TokenError("Only a signed-in operator issues tokens.")
    elif issuer.pk != owner.pk and issuer.role != Role.ADMIN:
        raise TokenError("Only an admin issues tokens for another operator.")
    if not owner.is_active:
        raise TokenError(f"{owner} is deactivated.")
    name = " ".join((name or "").split())[:100]
    if not name:
        raise TokenError("Name the token (what uses it).")
    if scope not in allowed_scopes(owner):
        raise TokenError(f"A {owner.get_role_display().lower()}'s token can only read.")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"A token lives between 1 and {MAX_DAYS} days.")
    for _attempt in range(5):
        prefix = secrets.token_hex(4)
        secret = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    owner=owner,
                    name=name,
                    prefix=prefix,
                    secret_hash=_hash(secret),
                    scope=scope,
                    created_by=issuer,
                    expires_at=timezone.now() + timedelta(days=days),
                )
                record_event(
                    actor=actor,
                    action=Action.API_TOKEN_CREATED,
                    target=token,
                    details={
                        "owner": owner.email,
                        "name": name,
                        "prefix": prefix,
                        "scope": scope,
                        "expires_at": token.expires_at.isoformat(),
                    },
                )
            return IssuedToken(token=token, secret=secret)
        except IntegrityError:  # the same 32-bit prefix twice: draw again
            continue
    raise TokenError("Could not issue a token; try again.")


def revoke_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke a token (its owner or an admin); revoking a revoked token changes nothing."""
    user = actor.user
    if user is None or (user.pk != token.owner_id and user.role != Role.ADMIN):
        raise TokenError("Only the token's owner or an admin revokes it.")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("owner").get(pk=token.pk)
        if token.revoked_at:
            return token
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(
            actor=actor,
            action=Action.API_TOKEN_REVOKED,
            target=token,
            details={"owner": token.owner.email, "name": token.name, "prefix": token.prefix},
        )
    return token


def find_token(value: str) -> ApiToken | None:
    """The active token ``value`` is, or None (unknown, wrong secret, revoked, expired, owner
    deactivated). The comparison of hashes takes the same time whatever matches."""
    value = (value or "").strip()
    if not value.startswith(PREFIX) or len(value) > 200:
        return None
    prefix = value[len(PREFIX) :].split("_", 1)[0]
    token = ApiToken.objects.select_related("owner").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(value)):
        return None
    if token.revoked_at or token.is_expired or not token.owner.is_active:
        return None
    return token


def mark_used(token: ApiToken, ip: str | None) -> None:
    """Record when and from where the token was last used (at most once a minute)."""
    now = timezone.now()
    if (
        token.last_used_at
        and now - token.last_used_at < LAST_USED_RESOLUTION
        and token.last_used_ip == ip
    ):
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip
