"""The notification emails are marked up for translation and still read, in English, as before.

The HTML parts and the subjects render byte for byte as they did before the markup (except that
a subject is a mail header, plain text: it no longer HTML-escapes "Fabrikam & Co"); in the text
parts a paragraph is now one line where it was wrapped by hand (``blocktranslate trimmed`` gives
the translator the sentence, not its line breaks). That is harmless: the paragraphs, their
words and the blank lines between them are the same, and every line stays far below the 998
characters RFC 5322 allows.
"""

# ruff: noqa: E501
from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import translation

CONTEXTS = {
    "consent_reminder": {
        "portal_name": "ACS portal",
        "tenant": "Fabrikam & Co",
        "operator_name": "Contoso",
        "sent_on": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC),
        "expires_at": dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.UTC),
        "note": "Call <Ann>",
    },
    "event": {
        "portal_name": "ACS portal",
        "data": {
            "label": "Consent lost",
            "tenant": {"name": "Fabrikam & Co"},
            "cause": "Grant removed. Remedy: consent again",
            "audit_event": {
                "action": "consent.grant_lost",
                "target": {"label": "Fabrikam"},
                "at": "2026-03-02T09:30:00+00:00",
                "actor": "system:verify",
            },
            "url": "https://portal.example/tenants/1/",
        },
    },
    "webhook_disabled": {
        "portal_name": "ACS portal",
        "endpoint": "CRM <hook>",
        "reason": "10 failed deliveries in a row",
        "url": "https://portal.example/notifications/webhooks/1/",
    },
}
# What each part rendered before the markup (lines as long as the emails' own).
BEFORE = {
    "consent_reminder.subject.txt": (
        "Reminder: Contoso is waiting for your approval (Fabrikam & Co)\n"
    ),
    "consent_reminder.txt": (
        "Hello,\n"
        "\n"
        "On 2 March 2026 Contoso sent you a link to approve its communication app\n"
        "for Fabrikam & Co. It has not been answered yet, and it expires on 16 March 2026, 09:30 UTC.\n"
        "\n"
        "Open the email from 2 March 2026 and follow its link to approve or decline. If you\n"
        "cannot find it, or the link has expired, ask Contoso for a new one.\n"
        "\n"
        "Their note: Call <Ann>\n"
        "\n"
        "(For your safety this reminder does not repeat the link.)\n"
        "\n"
    ),
    "consent_reminder.html": (
        "<!doctype html>\n"
        '<html lang="en"><body>\n'
        "<p>Hello,</p>\n"
        "<p>On 2 March 2026 Contoso sent you a link to approve its communication app for <strong>Fabrikam &amp; Co</strong>. It has not been answered yet, and it expires on 16 March 2026, 09:30 UTC.</p>\n"
        "<p>Open the email from 2 March 2026 and follow its link to approve or decline. If you cannot find it, or the link has expired, ask Contoso for a new one.</p>\n"
        "<p>Their note: Call &lt;Ann&gt;</p>\n"
        "<p><small>For your safety this reminder does not repeat the link.</small></p>\n"
        "</body></html>\n"
    ),
    "event.subject.txt": ("[ACS portal] Consent lost: Fabrikam & Co\n"),
    "event.txt": (
        "Consent lost (Fabrikam & Co)\n"
        "\n"
        "Grant removed. Remedy: consent again\n"
        "What happened: consent.grant_lost on Fabrikam, 2026-03-02T09:30:00+00:00, by system:verify.\n"
        "\n"
        "Open it in the portal: https://portal.example/tenants/1/\n"
        "\n"
        "You get this email because of your notification preferences in ACS portal.\n"
        "\n"
    ),
    "event.html": (
        "<!doctype html>\n"
        '<html lang="en"><body>\n'
        "<h1>Consent lost (Fabrikam &amp; Co)</h1>\n"
        "<p>Grant removed. Remedy: consent again</p>\n"
        "<p>What happened: <code>consent.grant_lost</code> on Fabrikam, 2026-03-02T09:30:00+00:00, by system:verify.</p>\n"
        '<p><a href="https://portal.example/tenants/1/">Open it in the portal</a></p>\n'
        "<p><small>You get this email because of your notification preferences in ACS portal.</small></p>\n"
        "</body></html>\n"
    ),
    "webhook_disabled.subject.txt": ("[ACS portal] Webhook endpoint CRM <hook> was disabled\n"),
    "webhook_disabled.txt": (
        'The webhook endpoint "CRM <hook>" was disabled after 10 failed deliveries in a row.\n'
        "\n"
        "Events for it are no longer sent. Fix the receiver, enable the endpoint again and redeliver\n"
        "what it missed: https://portal.example/notifications/webhooks/1/\n"
        "\n"
    ),
    "webhook_disabled.html": (
        "<!doctype html>\n"
        '<html lang="en"><body>\n'
        "<p>The webhook endpoint <strong>CRM &lt;hook&gt;</strong> was disabled after 10 failed deliveries in a row.</p>\n"
        '<p>Events for it are no longer sent. Fix the receiver, enable the endpoint again and redeliver what it missed: <a href="https://portal.example/notifications/webhooks/1/">https://portal.example/notifications/webhooks/1/</a></p>\n'
        "</body></html>\n"
    ),
}


def _paragraphs(text: str) -> list[str]:
    return [" ".join(paragraph.split()) for paragraph in text.split("\n\n")]


@pytest.mark.parametrize("part", list(BEFORE))
def test_an_email_reads_as_before_in_english(part):
    name = part.split(".")[0]
    with translation.override("en"):
        text = render_to_string(f"notifications/email/{part}", CONTEXTS[name])
    if part.endswith((".html", ".subject.txt")):
        assert text == BEFORE[part]
    else:
        assert _paragraphs(text) == _paragraphs(BEFORE[part])
        assert max(len(line) for line in text.splitlines()) < 998
