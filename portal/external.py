"""What the modules that call Microsoft share (``tenants/graph.py``, ``assignments/acs.py``):
one error that knows whether retrying can help, Retry-After parsing, and TLS trust."""

from __future__ import annotations

import email.utils
import functools
import os
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime

from django.conf import settings


def is_transient(status: int | None) -> bool:
    """No answer, a timeout (408), throttling (429) or a server error: another try may work."""
    return status is None or status in (408, 429) or status >= 500


class ServiceError(Exception):
    """A failed call to an outside system. ``permanent``: retrying the same request cannot help."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        code: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.permanent, self.status, self.code = message, permanent, status, code
        self.retry_after = retry_after  # seconds the server asked us to wait (429, 503)

    @classmethod
    def from_status(
        cls, status: int | None, message: str, code: str = "", retry_after: float | None = None
    ):
        return cls(
            message,
            permanent=not is_transient(status),
            status=status,
            code=code,
            retry_after=retry_after,
        )

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status else "no response"
        return f"{self.message} ({where}{f' {self.code}' if self.code else ''})"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``Retry-After-Ms`` or ``Retry-After`` (delta-seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def tls_context() -> ssl.SSLContext:
    """System CAs, plus ``MICROSOFT_CA_BUNDLE`` when set (cloudsim's CA in the demo).

    Built once per bundle file (and again when the file changes): loading the system store
    takes ~20 ms, and every ACS client and Graph call needs a context. A context is safe to
    share between connections and threads; the clients sharing it all speak HTTP/1.1, so the
    ALPN list httpcore sets on it is the same for each.
    """
    bundle = settings.MICROSOFT_CA_BUNDLE or ""
    try:
        stamp = os.stat(bundle).st_mtime_ns if bundle else 0
    except OSError:
        stamp = -1  # let load_verify_locations report the missing file
    return _tls_context(bundle, stamp)


@functools.lru_cache(maxsize=4)
def _tls_context(bundle: str, _stamp: int) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if bundle:
        context.load_verify_locations(bundle)
    return context
