"""Sign-in events go to the audit log."""

from __future__ import annotations

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
