"""Sign-in events and confirmed email changes go to the audit log."""

from __future__ import annotations

from allauth.account.signals import email_changed
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from audit.actions import Action
from audit.services import Actor, client_ip, record_event


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs) -> None:
    method = "microsoft" if "/microsoft/" in (request.path if request else "") else "password"
    record_event(
        actor=Actor.operator(user, ip=client_ip(request) if request else None),
        action=Action.OPERATOR_SIGNED_IN,
        target=user,
        target_label=user.email,
        details={"method": method},
    )


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    attempted = str(credentials.get("email") or credentials.get("username") or "")[:254]
    record_event(
        actor=Actor(
            type="operator",
            label=attempted or "unknown",
            ip=client_ip(request) if request else None,
        ),
        action=Action.OPERATOR_SIGN_IN_FAILED,
        target_type="user",
        target_label=attempted,
    )


@receiver(email_changed)
def _email_changed(sender, request, user, from_email_address, to_email_address, **kwargs) -> None:
    """The new address was confirmed from its mailbox (``request_operator_email_change``)."""
    old = from_email_address.email if from_email_address else ""
    record_event(
        actor=Actor(type="operator", label=to_email_address.email, ip=client_ip(request)),
        action=Action.OPERATOR_EMAIL_CHANGED,
        target=user,
        target_label=to_email_address.email,
        details={"from": old, "to": to_email_address.email},
    )
