"""Email through Django's email framework: plain text and HTML from templates.

The backend comes from settings (SMTP from ``EMAIL_URL`` or ``EMAIL_HOST``… in production,
files under ``var/mail`` in the demo). Any SMTP or socket error is a retryable failure; an
address the server refuses for good (5xx on RCPT) is permanent.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from notifications.transports import TransportError


def send_mail(*, to: str, template: str, context: dict[str, Any]) -> None:
    """Render ``notifications/email/<template>.{subject.txt,txt,html}`` and send it to ``to``."""
    context = {"portal_name": settings.PORTAL_NAME, **context}
    subject = " ".join(
        render_to_string(f"notifications/email/{template}.subject.txt", context).split()
    )
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        permanent = all(500 <= code < 600 for code in codes)
        raise TransportError(
            f"The mail server refused the address {to} ({', '.join(map(str, codes))}).",
            permanent=permanent,
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise TransportError(f"The mail server answered {exc.smtp_code}.") from None
    except (smtplib.SMTPException, OSError):
        raise TransportError("The mail server could not be reached.") from None
