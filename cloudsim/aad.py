"""Entra ID helpers shared by the login and consent endpoints: AADSTS errors, redirect URIs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from .httpkit import Response, json_response

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


def trace_suffix() -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return f" Trace ID: {uuid.uuid4()} Correlation ID: {uuid.uuid4()} Timestamp: {stamp}"


def aadsts(code: int, text: str) -> str:
    """An error_description as Entra redirects it: the AADSTS line, then Trace ID, Correlation
    ID and Timestamp on lines separated by CRLF (the `%0d%0a` of MicrosoftDocs/azure-docs
    issue 114009)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return (
        f"AADSTS{code}: {text}\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}"
        f"\r\nTimestamp: {stamp}"
    )


def token_error(status: int, error: str, code: int, text: str) -> Response:
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return json_response(
        status,
        {
            "error": error,
            "error_description": f"AADSTS{code}: {text} Trace ID: {trace} "
            f"Correlation ID: {correlation} Timestamp: {stamp}",
            "error_codes": [code],
            "timestamp": stamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
    )


def redirect_uri_registered(uri: str, registered: list[str]) -> bool:
    """Exact match, except that the port of an http loopback URI is ignored (as Entra does)."""
    if uri in registered:
        return True
    req = urlsplit(uri)
    if req.scheme != "http" or req.hostname not in LOOPBACK_HOSTS:
        return False
    for candidate in registered:
        reg = urlsplit(candidate)
        if (reg.scheme, reg.hostname, reg.path, reg.query) == (
            req.scheme,
            req.hostname,
            req.path,
            req.query,
        ):
            return True
    return False


def add_query(uri: str, params: list[tuple[str, str]]) -> str:
    sep = "&" if urlsplit(uri).query else "?"
    return uri + sep + urlencode(params)
