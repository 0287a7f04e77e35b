"""Operator accounts: created by admins or the ``create_operator`` command, never by sign-up."""

from __future__ import annotations

import secrets

from django.db import transaction

from audit.actions import Action
from audit.services import Actor, record_event
from portal.models import Role, User


class OperatorError(Exception):
    """A change to operator accounts that is not allowed; the message says why."""


def create_operator(
    *, actor: Actor, email: str, role: str, display_name: str = "", password: str | None = None
) -> tuple[User, str | None]:
    """Create an operator account and return it with its initial password.

    Without ``password`` a random one is generated (and returned once, never stored in clear).
    Raises ``OperatorError`` if the email is taken or the role unknown.
    """
    if role not in Role.values:
        raise OperatorError(f"Unknown role {role!r}.")
    email = email.strip().lower()
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(18)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise OperatorError(f"An operator with the address {email} already exists.")
        user = User.objects.create_user(
            email=email, password=password, role=role, display_name=display_name
        )
        record_event(
            actor=actor,
            action=Action.OPERATOR_CREATED,
            target=user,
            target_label=email,
            details={"role": role},
        )
    return user, generated


def change_operator_role(*, actor: Actor, user_id: int, role: str) -> User:
    """Give an operator another role. An admin cannot demote the last active admin."""
    if role not in Role.values:
        raise OperatorError(f"Unknown role {role!r}.")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if user.role == role:
            return user
        if user.role == Role.ADMIN:
            admins = User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
            if not admins.exists():
                raise OperatorError("The last admin cannot be given another role.")
        previous, user.role = user.role, role
        user.save(update_fields=["role"])
        record_event(
            actor=actor,
            action=Action.OPERATOR_ROLE_CHANGED,
            target=user,
            target_label=user.email,
            details={"from": previous, "to": role},
        )
    return user
