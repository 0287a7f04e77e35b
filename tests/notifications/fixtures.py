"""Real servers in the test process: an SMTP server (aiosmtpd) and a webhook receiver.

The receiver verifies every request with the ``standardwebhooks`` library's own verifier, as
a customer's receiver would, and answers what the test scripts (a status code, or a pause
longer than the portal's timeout).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def worker_env(self) -> dict[str, str]:
        """Settings for a worker process: mail to this server, webhooks to loopback receivers."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_TIMEOUT": "2",
        }

    def wait_for(self, address: str, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.to(address)) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.to(address)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    @staticmethod
    def bodies(message: EmailMessage) -> tuple[str, str]:
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        return text, html


@pytest.fixture(scope="session")
def smtp_inbox():
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd connects to its own port to see it is up
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def inbox(smtp_inbox, settings):
    """The SMTP server, emptied, and the portal's email pointed at it."""
    smtp_inbox.messages.clear()
    smtp_inbox.refuse.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_inbox.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_inbox


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict | None
    error: str = ""


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    script: list[int | str] = field(default_factory=list)  # 500, 200, "sleep", "redirect"
    received: list[Received] = field(default_factory=list)

    def verified(self) -> list[dict]:
        return [r.payload for r in self.received if r.payload is not None]


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            payload, error = None, "no secret"
            for secret in receiver.secrets:
                try:
                    payload, error = Webhook(secret).verify(body, headers), ""
                    break
                except WebhookVerificationError as exc:
                    error = str(exc)
            receiver.received.append(Received(headers, body, payload, error))
            answer = receiver.script.pop(0) if receiver.script else 200
            if answer == "sleep":
                time.sleep(2)
                answer = 200
            if answer == "redirect":
                self.send_response(307)
                self.send_header("location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            if error and answer == 200:
                answer = 401  # a real receiver refuses what it cannot verify
            self.send_response(int(answer))
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"ok": answer == 200}).encode())

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver(settings):
    """A webhook receiver on loopback, admitted by the portal's webhook allowlist."""
    state = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    host, port = server.server_address[:2]
    state.url = f"http://{host}:{port}/hooks/portal"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOK_ALLOWED_HOSTS = [f"{host}:{port}"]
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_TIMEOUT = 1.0
    yield state
    server.shutdown()
    server.server_close()
