"""Logging filters: the request id on every record, and secrets redacted before output."""

from __future__ import annotations

import logging
import re

from portal.request_context import get_request_id

# Bearer tokens, JWTs, HMAC signatures, client secrets and passwords in URLs or key=value text.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/]+=*"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)(signature=)[A-Za-z0-9+/=%]+"),
    re.compile(r"(/consent/)(?!callback/)[A-Za-z0-9_-]{20,}"),  # consent link tokens in paths
    re.compile(
        r"(?i)((?:client_secret|secret|password|access_?key|token|code|state)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s&\"',;]+"
    ),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[REDACTED]", text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id() or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
