"""The ACS data plane: the only module that talks to an Azure Communication Services resource.

Facts in ``/work/shared/specs/acs-data-plane.md``. Everything here is synchronous on purpose:
the callers are Celery tasks and Django views that use the synchronous ORM.

Concurrency: one ``httpx.Client`` per resource (a connection pool with keep-alive, bounded by
``httpx.Limits``) shared by a small thread pool (``AcsClient.map``). Threads rather than
``httpx.AsyncClient`` because the sync loop records progress in the database as each batch
completes; with threads that stays plain ORM code in the calling thread, with no
``sync_to_async`` bridge and no event loop inside a prefork Celery child. The pool size and the
connection limit are the same number, so there are never more requests in flight than
connections, and each worker thread reuses a warm TLS connection.

Errors: every failure is an ``AcsError`` that knows whether retrying can help (``permanent``).
4xx are permanent except 429; 429, 5xx, timeouts and dropped connections are transient and are
retried here (``Retry-After`` honoured, else capped exponential backoff with full jitter) up to
``max_attempts`` before the last ``AcsError`` is raised.

The access key is read from the environment variable named on the resource when a client is
built, kept only in memory, never logged and never part of an error message.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from django.conf import settings

from portal.external import ServiceError, retry_after_seconds, tls_context

log = logging.getLogger(__name__)

ACS_SCOPE = "https://communication.azure.com/.default"
ASSIGNMENTS_PATH = "/access/entra/assignments"
EXCHANGE_PATH = "/access/entra/:exchangeAccessToken"
EMPTY_BODY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.25  # seconds
BACKOFF_CAP = 20.0  # seconds, also the cap on a server's Retry-After
# Asked per page when listing; the spec does not document the parameter (🟡): a server that
# ignores it simply pages with its default size.
LIST_PAGE_SIZE = 1000

T = TypeVar("T")
R = TypeVar("R")


class AcsError(ServiceError):
    """A failed ACS call. ``permanent``: retrying the same request cannot help."""


class AcsConfigError(AcsError):
    """The resource cannot be called at all (no key in the environment, bad endpoint...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


# --- HMAC-SHA256 ----------------------------------------------------------------------------
def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def rfc1123(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def hmac_headers(
    *, method: str, path_and_query: str, host: str, body: bytes, access_key: str, date: str
) -> dict[str, str]:
    """The headers that authenticate one request with the resource's access key.

    ``path_and_query`` is the request target exactly as sent (``/path?api-version=…``); ``host``
    is the Host header (``host:port`` when the port is not the scheme's default).
    """
    body_hash = content_hash(body)
    string_to_sign = f"{method.upper()}\n{path_and_query}\n{date};{host};{body_hash}"
    try:
        key = base64.b64decode(access_key, validate=True)
    except ValueError as exc:
        raise AcsConfigError("The access key is not valid base64.") from exc
    signature = base64.b64encode(
        hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    ).decode("ascii")
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": body_hash,
        "Authorization": (
            f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        ),
    }


class HmacAuth(httpx.Auth):
    """Signs every request, and every retry afresh (a new ``x-ms-date`` each time)."""

    def __init__(self, access_key: str) -> None:
        self._key = access_key

    def __repr__(self) -> str:  # never show the key, even in a debugger or a traceback
        return "HmacAuth(<key hidden>)"

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers.update(
            hmac_headers(
                method=request.method,
                path_and_query=request.url.raw_path.decode("ascii"),
                host=request.headers["host"],
                body=request.content,
                access_key=self._key,
                date=rfc1123(datetime.now(UTC)),
            )
        )
        yield request


class BearerAuth(httpx.Auth):
    """An Entra token for ``https://communication.azure.com`` (app-only, or a user's token)."""

    def __init__(self, token_provider: Callable[[], str]) -> None:
        self._provider = token_provider

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = f"Bearer {self._provider()}"
        yield request


# --- Reading credentials --------------------------------------------------------------------
def read_access_key(env_var: str) -> str:
    """The access key from ``env_var`` (or the file named by ``env_var``_FILE, Docker secrets)."""
    if not env_var:
        raise AcsConfigError("No environment variable is named for the access key.")
    path = os.environ.get(f"{env_var}_FILE", "")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AcsConfigError(
                f"The secret file named by {env_var}_FILE cannot be read."
            ) from exc
    key = os.environ.get(env_var, "").strip()
    if not key:
        raise AcsConfigError(f"The environment variable {env_var} is not set on this server.")
    return key


def app_token() -> str:
    """An app-only token for ACS, from the operator app in its home tenant (tenants.graph)."""
    from tenants import graph

    try:
        return graph.acquire_app_token(tenant_id=settings.ENTRA_HOME_TENANT_ID, scopes=[ACS_SCOPE])
    except graph.GraphError as exc:
        raise AcsError(
            f"No Entra token for ACS: {exc}", permanent=getattr(exc, "permanent", True)
        ) from exc


def _error_from(response: httpx.Response) -> AcsError:
    code, message = "", response.reason_phrase or "ACS request failed"
    try:
        error = response.json().get("error") or {}
        code, message = str(error.get("code") or ""), str(error.get("message") or message)
    except (ValueError, AttributeError):
        pass
    status = response.status_code
    retry_after = retry_after_seconds(response.headers) if status == 429 else None
    return AcsError.from_status(status, message, code, retry_after=retry_after)


# --- The client -----------------------------------------------------------------------------
class AcsClient:
    """Calls to one ACS resource. Use as a context manager (closes the pool and connections).

    ``sleep`` and ``rng`` are injectable so tests can check the backoff without waiting.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        auth: httpx.Auth,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise AcsConfigError(f"The endpoint {endpoint!r} is not an https:// URL.")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.api_version = settings.ACS_API_VERSION
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._rng_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.requests_sent = 0
        self._count_lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.endpoint,
            auth=auth,
            timeout=httpx.Timeout(timeout or settings.MICROSOFT_HTTP_TIMEOUT, connect=10.0),
            limits=httpx.Limits(
                max_connections=self.concurrency,
                max_keepalive_connections=self.concurrency,
                keepalive_expiry=30.0,
            ),
            verify=tls_context(),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> AcsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._http.close()

    # plumbing -------------------------------------------------------------------------
    def _target(self, path: str, query: dict[str, str] | None = None) -> str:
        params = {"api-version": self.api_version, **(query or {})}
        encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items())
        return f"{path}?{encoded}"

    def _backoff(self, attempt: int) -> float:
        with self._rng_lock:
            return self._rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send with retries; return the successful response or raise ``AcsError``.

        ``url`` is a request target built by ``_target`` or an absolute URL on the same host.
        """
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": content_type} if body is not None else {}
        last: AcsError | None = None
        for attempt in range(self.max_attempts):
            if attempt:
                wait = last.retry_after if last else None
                self._sleep(min(wait, BACKOFF_CAP) if wait is not None else self._backoff(attempt))
            with self._count_lock:
                self.requests_sent += 1
            try:
                kwargs = {"auth": auth} if auth is not None else {}
                response = self._http.request(
                    method, url, content=content, headers=headers, **kwargs
                )
            except httpx.TimeoutException:
                last = AcsError("The ACS resource did not answer in time", permanent=False)
                continue
            except httpx.TransportError as exc:
                last = AcsError(f"Connection to ACS failed: {type(exc).__name__}", permanent=False)
                continue
            if response.is_success:
                return response
            last = _error_from(response)
            if last.permanent:
                raise last
            log.info(
                "ACS %s %s -> %s, attempt %d of %d",
                method,
                urlsplit(url).path,
                response.status_code,
                attempt + 1,
                self.max_attempts,
            )
        assert last is not None
        last.message = f"{last.message}; gave up after {self.max_attempts} attempts"
        raise last

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="acs")
        return self._pool

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``fn(*args)`` on the pool (the caller goes on with its own work meanwhile)."""
        return self._executor().submit(fn, *args)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, Future[R]]]:
        """Submit ``fn`` over ``items`` now; iterate (item, finished future) as each ends.

        Every item is on the pool when this returns, so the caller can do other work (the
        sync records its plan) while the first requests are in flight.
        """
        futures = {self._executor().submit(fn, item): item for item in items}
        return ((futures[future], future) for future in as_completed(futures))

    # operations -------------------------------------------------------------------------
    def list_assignments(self) -> Iterator[dict[str, Any]]:
        """Every assignment on the resource, following ``nextLink`` page by page."""
        url: str | None = self._target(ASSIGNMENTS_PATH, {"maxPageSize": str(LIST_PAGE_SIZE)})
        while url:
            data = self.request("GET", url).json()
            yield from data.get("value", [])
            url = self._next_url(data.get("nextLink") or "")

    def _next_url(self, next_link: str) -> str | None:
        if not next_link:
            return None
        parts = urlsplit(next_link)
        if parts.scheme and parts.netloc:
            if f"{parts.scheme}://{parts.netloc}".lower() != self.endpoint.lower():
                raise AcsError("nextLink points to another host", permanent=True)
            # Absolute: sent (and signed) as the server wrote it.
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return self._target(ASSIGNMENTS_PATH, {"nextLink": next_link})

    def get_assignment(self, object_id: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", self._target(f"{ASSIGNMENTS_PATH}/{object_id}")).json()
        except AcsError as exc:
            if exc.status == 404:
                return None
            raise

    def put_assignment(
        self, object_id: str, *, tenant_id: str, principal_type: str, client_ids: list[str]
    ) -> dict[str, Any]:
        body = {"tenantId": tenant_id, "principalType": principal_type, "clientIds": client_ids}
        url = self._target(f"{ASSIGNMENTS_PATH}/{object_id}")
        return self.request("PUT", url, body=body).json()

    def patch_assignments(self, changes: dict[str, dict[str, Any] | None]) -> list[dict]:
        """One merge-patch: objectId → request object (upsert) or ``None`` (delete)."""
        response = self.request(
            "PATCH",
            self._target(ASSIGNMENTS_PATH),
            body=changes,
            content_type="application/merge-patch+json",
        )
        if response.status_code == 204 or not response.content:
            return []
        return response.json().get("value", [])

    def delete_assignment(self, object_id: str) -> None:
        """Delete; an entry already gone counts as deleted (a retried DELETE may see 404)."""
        try:
            self.request("DELETE", self._target(f"{ASSIGNMENTS_PATH}/{object_id}"))
        except AcsError as exc:
            if exc.status != 404:
                raise

    def exchange_user_token(self, user_token: str) -> dict[str, Any]:
        """Exchange a user's Entra token for an ACS identity and token (no HMAC: bearer)."""
        response = self.request(
            "POST",
            self._target(EXCHANGE_PATH),
            body={},
            auth=BearerAuth(lambda: user_token),
        )
        return response.json()


def client_for(resource: Any, **kwargs: Any) -> AcsClient:
    """A client for an ``AcsResource``: its key read from the environment now, or a bearer token."""
    from assignments.models import AuthMethod

    if resource.auth_method == AuthMethod.ENTRA:
        auth: httpx.Auth = BearerAuth(app_token)
    else:
        auth = HmacAuth(read_access_key(resource.key_env_var))
    return AcsClient(endpoint=resource.endpoint, auth=auth, **kwargs)
