"""A tiny HTTP toolkit over `http.server`: requests, responses, a regex router."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    method: str
    raw_path: str  # path and query exactly as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes
    service: str
    base_url: str  # this listener's https://host:port
    params: dict[str, str] = field(default_factory=dict)  # route parameters
    route: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.raw_path).path

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value of each), percent-decoded."""
        parsed = parse_qs(urlsplit(self.raw_path).query, keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data).encode()
    return Response(status, body, {"Content-Type": "application/json", **(headers or {})})


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


def redirect(location: str) -> Response:
    return Response(302, b"", {"Location": location})


def new_request_id() -> str:
    return str(uuid.uuid4())


Handler = Callable[[Request], Response]


class Router:
    """Routes written like `/v1.0/users/{id}`; `{name}` matches one path segment."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        escaped = re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", escaped)
        self._routes.append((method, re.compile(f"^{pattern}/?$"), template, handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str], str] | None:
        """The handler, its parameters and the route template; None when nothing matches.

        A path that matches with another method yields a 405 handler.
        """
        other_method = False
        for m, rx, template, handler in self._routes:
            match = rx.match(path)
            if match:
                if m == method:
                    # Segments arrive percent-encoded (a UPN's '@' as %40), as servers decode them.
                    params = {k: unquote(v) for k, v in match.groupdict().items()}
                    return handler, params, template
                other_method = True
        if other_method:
            return _method_not_allowed, {}, path
        return None


def _method_not_allowed(req: Request) -> Response:
    return json_response(
        405, {"error": {"code": "MethodNotAllowed", "message": f"{req.method} not allowed"}}
    )
