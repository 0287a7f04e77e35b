"""Remove secrets from audit details before they are stored.

Keys that name a secret are replaced whatever their value; string values that look like a
token (JWT, bearer, HMAC authorization, SAS signature) are replaced wherever they appear.
"""

from __future__ import annotations

import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(
    r"(?i)(secret|password|passwd|token|access_?key|api_?key|authorization|signature|"
    r"credential|cookie|private_?key|client_assertion|hmac|sas_?key|connection_?string|"
    r"pwd|^key$|^code$|^state$)"
)
_SECRET_VALUE = re.compile(
    r"(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
    r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|HMAC-SHA256\s+\S+"
    r"|(?i:sig)=[A-Za-z0-9%+/=]{10,}"
    # key=value pairs in connection strings and query strings (accesskey=…; client_secret=…)
    r"|(?<!\w)(?i:accesskey|access_key|client_secret|password|secret|code)=[^&;\s]+)"
)
_MAX_DEPTH = 20


def scrub(value: Any, _depth: int = 0) -> Any:
    """Return a JSON-safe copy of ``value`` with secrets replaced by ``[redacted]``."""
    if _depth > _MAX_DEPTH:
        return REDACTED
    if isinstance(value, dict):
        return {
            str(k): REDACTED if _SECRET_KEY.search(str(k)) else scrub(v, _depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [scrub(v, _depth + 1) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _SECRET_VALUE.sub(REDACTED, str(value))
