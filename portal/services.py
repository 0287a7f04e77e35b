"""Operator accounts: created by admins or the ``create_operator`` command, never by sign-up."""

from __future__ import annotations

import secrets

from allauth.account.models import EmailAddress
from django.db import transaction
from django.http import HttpRequest

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


def request_operator_email_change(
    *, actor: Actor, user_id: int, email: str, request: HttpRequest | None = None
) -> User:
    """Ask for an operator's sign-in address to become ``email`` (admins only, from the
    Operators page). Nothing changes until the link mailed to the new address is opened; then
    allauth swaps the address (ACCOUNT_CHANGE_EMAIL) and ``portal.signals`` audits the change.
    Raises ``OperatorError`` if another account has the address; ``User.DoesNotExist`` if none.
    """
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if email == user.email:
            raise OperatorError(f"{email} is already this operator's address.")
        taken = User.objects.filter(email=email).exclude(pk=user.pk).exists()
        if taken or EmailAddress.objects.filter(email__iexact=email).exclude(user=user).exists():
            raise OperatorError(f"Another account uses the address {email}.")
        # One pending address per operator: a newer request replaces the older one.
        EmailAddress.objects.filter(user=user, verified=False).delete()
        pending = EmailAddress.objects.create(user=user, email=email, primary=False)
        record_event(
            actor=actor,
            action=Action.OPERATOR_EMAIL_CHANGE_REQUESTED,
            target=user,
            target_label=user.email,
            details={"to": email},
        )
        transaction.on_commit(lambda: pending.send_confirmation(request))
    return user
