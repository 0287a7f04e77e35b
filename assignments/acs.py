"""The ACS data plane: the only module that talks to an Azure Communication Services resource.

Facts in ``docs/microsoft/acs-data-plane.md`` (routes, paging, errors, request ids),
``docs/microsoft/acs-hmac.md`` (the access-key signature), ``docs/microsoft/acs-entra.md``
(bearer tokens, the token exchange) and ``docs/microsoft/acs-endpoints.md`` (which hosts are
ACS). Everything here is synchronous on purpose: the callers are Celery tasks and Django views
that use the synchronous ORM.

Outbound safety: an endpoint is typed by a person, so every client connects through
``portal.outbound`` (https only, allowed hosts only, public addresses only unless allowed,
checked again at connect time, no redirects). A bearer token is bound to the resource's origin
and never sent anywhere else.

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
``max_attempts`` before the last ``AcsError`` is raised. Every error answer is logged with the
``x-ms-request-id`` and ``x-ms-client-request-id`` a support case to Microsoft needs.

The access key is read from the environment variable named on the resource when a client is
built, kept only in memory, never logged and never part of an error message. Only declared
variable names are read (``ACS_KEY_ENV_PREFIX`` / ``ACS_KEY_ENV_VARS``), so no page can tell
which other variables exist.
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
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import httpx
from django.conf import settings
from django.utils.translation import ngettext

from assignments import breaker as breaker_kinds
from assignments.breaker import Cancelled, CircuitBreaker, GaveUp
from portal import metrics, outbound
from portal.external import ServiceError, retry_after_seconds, tls_context

log = logging.getLogger(__name__)

# As the azure-communication-* SDKs request it, double slash included
# (docs/microsoft/acs-entra.md); the same for every resource: Azure RBAC on each resource
# decides what the token may do there.
ACS_SCOPE = "https://communication.azure.com//.default"
ASSIGNMENTS_PATH = "/access/entra/assignments"
EXCHANGE_PATH = "/access/entra/:exchangeAccessToken"
EMPTY_BODY_HASH = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_ATTEMPTS = 10
BACKOFF_BASE = 0.25  # seconds
BACKOFF_CAP = 20.0  # seconds, also the cap on a server's Retry-After
# A listing longer than this many pages is refused rather than followed without end (a server
# that links a page to itself, or to pages without end); refused, not truncated, because a
# truncated list would make the sync re-create or drop what it did not see.
DEFAULT_MAX_LIST_PAGES = 2000

T = TypeVar("T")
R = TypeVar("R")


class AcsError(ServiceError):
    """A failed ACS call. ``permanent``: retrying the same request cannot help.

    ``request_id`` / ``client_request_id``: the ids of the failed answer, when there was one.
    """

    request_id: str = ""
    client_request_id: str = ""


class AcsCancelled(AcsError):
    """The caller stopped the request while it waited to retry (a sync that lost its lock)."""

    def __init__(self) -> None:
        super().__init__("Stopped while waiting to retry", permanent=True)


class AcsConfigError(AcsError):
    """The resource cannot be called at all (no key in the environment, bad endpoint...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


# --- Where a resource may be, and which key variables it may name --------------------------
def endpoint_policy() -> outbound.Policy:
    """The outbound policy for ACS endpoints, from the settings (read at call time)."""
    return outbound.Policy.build(
        suffixes=settings.ACS_ENDPOINT_SUFFIXES,
        allowed_hosts=settings.ACS_ALLOWED_HOSTS,
        allow_private=settings.OUTBOUND_ALLOW_PRIVATE,
    )


def check_endpoint(endpoint: str) -> str:
    """The endpoint's origin (``https://host[:port]``) if the settings allow it.

    No DNS: forms and services call this to refuse bad input at once; the addresses are
    checked when a client connects. Raises ``AcsConfigError`` with a message for the person.
    """
    try:
        return outbound.check_url(endpoint, endpoint_policy()).origin
    except outbound.DestinationRefused as exc:
        raise AcsConfigError(str(exc)) from None


def key_env_var_allowed(name: str) -> bool:
    """Whether a resource may name ``name`` as its access-key variable."""
    prefix = settings.ACS_KEY_ENV_PREFIX
    return bool(name) and (
        (bool(prefix) and name.startswith(prefix) and len(name) > len(prefix))
        or name in settings.ACS_KEY_ENV_VARS
    )


def key_env_var_rule() -> str:
    """The rule in words, the same whether or not a refused variable exists."""
    listed = ", ".join(settings.ACS_KEY_ENV_VARS)
    rule = (
        f"a name starting with {settings.ACS_KEY_ENV_PREFIX}" if settings.ACS_KEY_ENV_PREFIX else ""
    )
    if listed:
        rule = f"{rule} or one of {listed}" if rule else f"one of {listed}"
    return f"Use {rule or 'a variable an administrator declared (ACS_KEY_ENV_VARS)'}."


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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
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
    """An Entra token (app-only, or a user's), sent only to the one origin it is bound to.

    The app token is valid on every ACS resource the operator app may reach, so it must never
    travel to another host: a request elsewhere (a redirect, a ``nextLink`` to another host, a
    bug) is refused before any header is written.
    """

    def __init__(self, token_provider: Callable[[], str], *, origin: str) -> None:
        self._provider = token_provider
        self._origin = origin.lower()

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = request.url
        port = "" if url.port in (None, 443) else f":{url.port}"
        if url.scheme != "https" or f"https://{url.host}{port}".lower() != self._origin:
            raise AcsConfigError("A bearer token is only ever sent to its own ACS resource.")
        request.headers["Authorization"] = f"Bearer {self._provider()}"
        yield request


# --- Reading credentials --------------------------------------------------------------------
def read_access_key(env_var: str) -> str:
    """The access key from ``env_var`` (or the file named by ``env_var``_FILE, Docker secrets)."""
    if not env_var:
        raise AcsConfigError("No environment variable is named for the access key.")
    if not key_env_var_allowed(env_var):
        raise AcsConfigError(
            f"The access key variable is not one the portal may read. {key_env_var_rule()}"
        )
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


def request_ids(response: httpx.Response) -> dict[str, str]:
    """The ids Microsoft support asks for: the server's and the one we sent."""
    return {
        "x-ms-request-id": response.headers.get("x-ms-request-id", ""),
        "x-ms-client-request-id": response.request.headers.get("x-ms-client-request-id", ""),
    }


def _error_from(response: httpx.Response) -> AcsError:
    """The ``AcsError`` for a failed answer, logged with its request ids.

    Only the Communication error shape (``{"error":{"code","message"}}``) is quoted; any other
    body is not ACS speaking and is not repeated to the person (nor is a redirect followed).
    """
    status = response.status_code
    code, message = "", f"ACS answered HTTP {status}"
    if 300 <= status < 400:
        message = "The resource answered with a redirect, which the portal never follows"
    else:
        try:
            error = response.json().get("error") or {}
            code, message = str(error.get("code") or ""), str(error.get("message") or message)
        except (ValueError, AttributeError):
            pass
    ids = request_ids(response)
    log.warning(
        "ACS %s %s -> %s %s (x-ms-request-id=%s, x-ms-client-request-id=%s)",
        response.request.method,
        response.request.url.path,
        status,
        code or "-",
        ids["x-ms-request-id"] or "-",
        ids["x-ms-client-request-id"] or "-",
    )
    retry_after = retry_after_seconds(response.headers) if status == 429 else None
    error = AcsError.from_status(status, message, code, retry_after=retry_after)
    error.request_id = ids["x-ms-request-id"]
    error.client_request_id = ids["x-ms-client-request-id"]
    return error


def _stamp_client_request_id(request: httpx.Request) -> None:
    """Every attempt carries its own ``x-ms-client-request-id`` (echoed back by ACS)."""
    request.headers["x-ms-client-request-id"] = str(uuid.uuid4())


# --- The client -----------------------------------------------------------------------------
class AcsClient:
    """Calls to one ACS resource. Use as a context manager (closes the pool and connections).

    ``sleep`` and ``rng`` are injectable so tests can check the backoff without waiting.
    ``transport`` replaces the guarded one (tests that fake HTTP); the endpoint is checked
    against the settings either way.
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
        max_pages: int = DEFAULT_MAX_LIST_PAGES,
        cancel: threading.Event | None = None,
        breaker: CircuitBreaker | None = None,
        retry_seconds: float | None = None,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self.max_pages = max(1, max_pages)
        self.api_version = settings.ACS_API_VERSION
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep
        # Retry-loop controls (see ``request``): stop waiting when ``cancel`` is set, share
        # waits between threads through ``breaker``, give up after ``retry_seconds``.
        self._cancel, self.breaker, self.retry_seconds = cancel, breaker, retry_seconds
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._rng_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.requests_sent = 0
        self._count_lock = threading.Lock()
        limits = httpx.Limits(
            max_connections=self.concurrency,
            max_keepalive_connections=self.concurrency,
            keepalive_expiry=30.0,
        )
        self._http = httpx.Client(
            base_url=self.endpoint,
            auth=auth,
            timeout=httpx.Timeout(timeout or settings.MICROSOFT_HTTP_TIMEOUT, connect=10.0),
            transport=transport
            or outbound.transport(endpoint_policy(), verify=tls_context(), limits=limits),
            headers={"Accept": "application/json"},
            follow_redirects=False,
            trust_env=False,
            event_hooks={"request": [_stamp_client_request_id], **metrics.httpx_hooks("acs")},
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

    def _wait(self, seconds: float) -> None:
        """Sleep before a retry; a set ``cancel`` event ends the wait and the request."""
        if self._cancel is not None and self._sleep is time.sleep:
            if self._cancel.wait(seconds):
                raise AcsCancelled
            return
        self._sleep(seconds)
        if self._cancel is not None and self._cancel.is_set():
            raise AcsCancelled

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
        Retries stop after ``max_attempts``, or when the next wait would end past
        ``retry_seconds`` from the first attempt; ``AcsCancelled`` when ``cancel`` is set.
        """
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": content_type} if body is not None else {}
        started = time.monotonic()
        last: AcsError | None = None
        tries = 0  # requests sent: the time budget can end the retries before max_attempts
        for attempt in range(self.max_attempts):
            if attempt:
                wait = last.retry_after if last else None
                delay = min(wait, BACKOFF_CAP) if wait is not None else self._backoff(attempt)
                if self.retry_seconds is not None and (
                    time.monotonic() - started + delay > self.retry_seconds
                ):
                    break
                self._wait(delay)
            if self.breaker is not None:
                try:
                    self.breaker.before_request(self._cancel)
                except Cancelled:
                    raise AcsCancelled from None
                except GaveUp as exc:
                    raise AcsError(
                        f"Not sent: the resource kept refusing requests ({exc})", permanent=False
                    ) from None
            with self._count_lock:
                self.requests_sent += 1
            tries += 1
            try:
                kwargs: dict[str, Any] = {"auth": auth} if auth is not None else {}
                response = self._http.request(
                    method, url, content=content, headers=headers, **kwargs
                )
            except httpx.TimeoutException:
                last = AcsError("The ACS resource did not answer in time", permanent=False)
                self._record_transient(last)
                continue
            except httpx.TransportError as exc:
                last = AcsError(f"Connection to ACS failed: {type(exc).__name__}", permanent=False)
                self._record_transient(last)
                continue
            if response.is_success:
                if self.breaker is not None:
                    self.breaker.record_success()
                return response
            last = _error_from(response)
            if last.permanent:
                if self.breaker is not None:
                    self.breaker.record_success()  # it answers; the request is what is wrong
                raise last
            self._record_transient(last)
            log.info(
                "ACS %s %s -> %s, attempt %d of %d",
                method,
                urlsplit(url).path,
                response.status_code,
                attempt + 1,
                self.max_attempts,
            )
        assert last is not None
        last.message = ngettext(
            "%(message)s; gave up after %(tries)d attempt",
            "%(message)s; gave up after %(tries)d attempts",
            tries,
        ) % {"message": last.message, "tries": tries}
        raise last

    def _record_transient(self, error: AcsError) -> None:
        if self.breaker is None:
            return
        if error.status == 429:
            kind = breaker_kinds.THROTTLED
            wait = f"; it asked to wait {error.retry_after:.0f} s" if error.retry_after else ""
            reason = f"ACS is throttling requests{wait} ({error})"
        elif error.status:
            kind, reason = breaker_kinds.SERVER_ERROR, f"ACS is failing ({error})"
        else:
            kind, reason = breaker_kinds.UNREACHABLE, f"ACS cannot be reached ({error})"
        self.breaker.record_failure(reason=reason, retry_after=error.retry_after, kind=kind)

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
        """Every assignment on the resource, following ``nextLink`` page by page.

        Only ``api-version`` is sent (the one parameter the spec declares for list). A listing
        that links back to a page it already sent, or runs past ``max_pages``, raises a
        permanent ``AcsError``: the caller must not act on a partial list.
        """
        url: str | None = self._target(ASSIGNMENTS_PATH)
        seen: set[str] = set()
        pages = 0
        while url:
            if url in seen:
                raise AcsError(
                    "ACS sent a page link it had already sent (a paging loop); listing stopped",
                    permanent=True,
                )
            if pages >= self.max_pages:
                raise AcsError(
                    f"ACS listed more than {self.max_pages} pages; listing stopped",
                    permanent=True,
                )
            seen.add(url)
            pages += 1
            data = self.request("GET", url).json()
            yield from data.get("value", [])
            url = self._next_url(data.get("nextLink") or "")

    def _next_url(self, next_link: str) -> str | None:
        """The request target of ``nextLink``: absolute, or relative to the list route.

        Its own query is kept and ``api-version`` set to ours, as Azure's generated clients do;
        a link to another host is refused (a signed or bearer request must not go there).
        """
        if not next_link:
            return None
        parts = urlsplit(urljoin(f"{self.endpoint}{ASSIGNMENTS_PATH}", next_link))
        if f"{parts.scheme}://{parts.netloc}".lower() != self.endpoint.lower():
            raise AcsError("nextLink points to another host", permanent=True)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        query = [(k, v) for k, v in query if k != "api-version"]
        params = [("api-version", self.api_version), *query]
        encoded = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
        return f"{parts.path}?{encoded}"

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
            auth=BearerAuth(lambda: user_token, origin=self.endpoint),
        )
        return response.json()


def client_for(resource: Any, **kwargs: Any) -> AcsClient:
    """A client for an ``AcsResource``: its key read from the environment now, or a bearer token."""
    from assignments.models import AuthMethod

    origin = check_endpoint(resource.endpoint)
    if "transport" not in kwargs:
        # Refuse now, with a clear message, what the transport would refuse on connecting.
        parts = urlsplit(origin)
        try:
            outbound.resolve(parts.hostname or "", parts.port or 443, endpoint_policy())
        except outbound.DestinationRefused as exc:
            raise AcsConfigError(str(exc)) from None
    if resource.auth_method == AuthMethod.ENTRA:
        auth: httpx.Auth = BearerAuth(app_token, origin=origin)
    else:
        auth = HmacAuth(read_access_key(resource.key_env_var))
    return AcsClient(endpoint=origin, auth=auth, **kwargs)
