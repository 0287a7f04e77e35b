"""Tokens from Entra ID with MSAL, and the error and retry rules shared with ``tenants.graph``.

Only ``tenants.graph`` and this module talk to Microsoft. Settings are read at call time
(tests point them at cloudsim after start-up). One MSAL application per (client, authority)
lives for the process, so its token cache is reused until tokens near expiry.

App-only tokens are also shared between processes (every child of every worker, the web
workers) through the cache (Redis in production), encrypted with a key derived from
SECRET_KEY: a sweep's check of a tenant lands on any worker process, and without the shared
entry each process would ask Entra for its own token of every tenant. ``forget_tenant`` (a
"Verify now", a consent answer, a token Graph refused) drops the shared entry too.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import msal
import requests
from azure.core.credentials import AccessToken
from django.conf import settings

from portal import metrics
from portal.external import ServiceError, retry_after_seconds

logger = logging.getLogger(__name__)

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
MICROSOFT_LOGIN_HOSTS = frozenset(
    {
        "login.microsoftonline.com",
        "login.microsoft.com",
        "login.windows.net",
        "sts.windows.net",
        "login.microsoftonline.us",
        "login.partner.microsoftonline.cn",
        "login.chinacloudapi.cn",
    }
)
GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Retry budget: bounded in attempts and in total waiting, whatever Retry-After says.
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
RETRY_AFTER_CAP = 30.0
TOTAL_WAIT_CAP = 60.0

T = TypeVar("T")


class GraphError(ServiceError):
    """A failed call to Entra ID or Graph. ``permanent`` says whether retrying can help."""


def retry_delay(attempt: int, error: GraphError) -> float:
    """Seconds before retry ``attempt`` (0-based): Retry-After (capped) or jittered backoff."""
    if error.retry_after is not None:
        return min(error.retry_after, RETRY_AFTER_CAP)
    backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt)
    return backoff * (0.5 + random.random() / 2)  # noqa: S311 (jitter, not a secret)


def should_retry(error: GraphError, attempt: int, waited: float, *, idempotent: bool) -> float:
    """The delay before the next attempt, or -1 when the error must be raised."""
    if error.permanent or attempt + 1 >= MAX_ATTEMPTS:
        return -1
    if not idempotent and error.status != 429:  # a 5xx on a create may have created it
        return -1
    delay = retry_delay(attempt, error)
    return -1 if waited + delay > TOTAL_WAIT_CAP else delay


def call_with_retries(fn: Callable[[], T], *, what: str) -> T:
    """Run ``fn`` (which raises GraphError), retrying transient errors within the budget."""
    waited = 0.0
    for attempt in range(MAX_ATTEMPTS):
        try:
            return fn()
        except GraphError as error:
            delay = should_retry(error, attempt, waited, idempotent=True)
            if delay < 0:
                raise
            logger.warning("%s failed (%s); retry in %.1fs", what, error, delay)
            time.sleep(delay)
            waited += delay
    raise AssertionError("unreachable")  # pragma: no cover


class _TimeoutSession(requests.Session):
    """A requests session that trusts the configured CA and never waits forever."""

    def __init__(self, verify: str | bool, timeout: float) -> None:
        super().__init__()
        self.verify, self._timeout = verify, timeout
        self.hooks["response"].append(metrics.requests_hook("login"))

    def request(self, method, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        if kwargs.get("verify") is None:  # else REQUESTS_CA_BUNDLE would win over our CA
            kwargs["verify"] = self.verify
        return super().request(method, url, **kwargs)


def ca_verify() -> str | bool:
    return settings.MICROSOFT_CA_BUNDLE or True


def http_session() -> requests.Session:
    return _TimeoutSession(ca_verify(), float(settings.MICROSOFT_HTTP_TIMEOUT))


def authority_host() -> str:
    return settings.ENTRA_AUTHORITY_HOST.rstrip("/")


def is_microsoft_host(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in MICROSOFT_LOGIN_HOSTS


_apps: dict[tuple[str, ...], msal.ConfidentialClientApplication] = {}
_apps_lock = threading.Lock()


def _app(tenant_id: str) -> msal.ConfidentialClientApplication:
    host = authority_host()
    authority = f"{host}/{tenant_id}"
    secret = settings.ENTRA_CLIENT_SECRET
    key = (
        settings.ENTRA_CLIENT_ID,
        authority,
        str(settings.MICROSOFT_CA_BUNDLE),
        hashlib.sha256(secret.encode()).hexdigest(),
    )
    if not is_microsoft_host(host):
        # MSAL's user realm discovery (ROPC) drops the port of the authority: a non-Microsoft
        # host (cloudsim) has no federated realms, so skip it there.
        msal.authority.Authority._domains_without_user_realm_discovery.add(urlsplit(host).hostname)
    with _apps_lock:
        app = _apps.get(key)
        if app is None:
            app = _new_app(tenant_id)
            _apps[key] = app
        return app


def _new_app(tenant_id: str) -> msal.ConfidentialClientApplication:
    """An MSAL application for ``{authority host}/{tenant_id}`` with its own empty token cache."""
    host = authority_host()
    try:
        return msal.ConfidentialClientApplication(
            settings.ENTRA_CLIENT_ID,
            client_credential=settings.ENTRA_CLIENT_SECRET,
            authority=f"{host}/{tenant_id}",
            http_client=http_session(),
            instance_discovery=False if not is_microsoft_host(host) else None,
            token_cache=msal.TokenCache(),
        )
    except requests.RequestException as exc:
        raise _unreachable(exc) from exc
    except msal.exceptions.MsalServiceError as exc:
        # MSAL raises this for a 5xx answer to its tenant discovery (the OpenID metadata):
        # Microsoft is unavailable, which a later attempt may not be.
        raise GraphError(
            f"The sign-in service did not answer the tenant discovery: {exc}",
            permanent=False,
            status=503,
            code="discovery_unavailable",
        ) from exc
    except ValueError as exc:  # MSAL: authority metadata unavailable (unknown tenant)
        raise GraphError(
            f"The sign-in service does not know tenant {tenant_id}: {exc}",
            permanent=True,
            code="tenant_not_found",
        ) from exc


def forget_tenant(tenant_id: str) -> None:
    """Drop the cached app (and tokens) of one tenant, e.g. after Graph refused its token;
    in every process (the shared entry)."""
    with _apps_lock:
        for key in [k for k in _apps if k[1].endswith(f"/{tenant_id}")]:
            del _apps[key]
    _shared_bump(f"msal-token-gen:{str(tenant_id).lower()}")


def reset_token_caches() -> None:
    """Forget every MSAL application and its cached tokens (tests, secret rotation)."""
    with _apps_lock:
        _apps.clear()
    _shared_bump("msal-token-gen")


# --- tokens shared between processes ---------------------------------------------------------
# A shared token is used until this many seconds before it expires (then Entra is asked again).
SHARED_TOKEN_MARGIN = 300


def _fernet():
    import base64

    from cryptography.fernet import Fernet

    digest = hashlib.sha256(f"msal-token-cache:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _shared_bump(key: str) -> None:
    """A new generation: entries written under the old one are never read again."""
    from django.core.cache import cache

    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:  # a cache that cannot be reached holds no tokens to forget either
        logger.warning("Token cache generation %s not bumped (cache unavailable)", key)


def _shared_key(tenant_id: str, scopes: list[str]) -> str:
    from django.core.cache import cache

    tid = str(tenant_id).lower()
    generations = cache.get_many(["msal-token-gen", f"msal-token-gen:{tid}"])
    app = hashlib.sha256(
        "|".join(
            (
                settings.ENTRA_CLIENT_ID,
                authority_host(),
                settings.ENTRA_CLIENT_SECRET,
                " ".join(sorted(scopes)),
            )
        ).encode()
    ).hexdigest()[:32]
    return (
        f"msal-app-token:{generations.get('msal-token-gen', 0)}:{tid}:"
        f"{generations.get(f'msal-token-gen:{tid}', 0)}:{app}"
    )


def _shared_get(key: str) -> str | None:
    from cryptography.fernet import InvalidToken
    from django.core.cache import cache

    try:
        sealed = cache.get(key)
    except Exception:
        return None
    if not sealed:
        return None
    try:
        token, _, expires_at = _fernet().decrypt(sealed).decode().rpartition(" ")
    except (InvalidToken, ValueError):  # SECRET_KEY rotated: ask Entra again
        return None
    return token if float(expires_at) - SHARED_TOKEN_MARGIN > time.time() else None


def _shared_set(key: str, token: str, expires_in: float) -> None:
    from django.core.cache import cache

    lifetime = int(expires_in) - SHARED_TOKEN_MARGIN
    if lifetime <= 0:
        return
    sealed = _fernet().encrypt(f"{token} {time.time() + expires_in:.0f}".encode())
    try:
        cache.set(key, sealed, timeout=lifetime)
    except Exception:
        logger.warning("App token not shared (cache unavailable)")


def _token_from_result(result: dict | None, what: str) -> str:
    if result and "access_token" in result:
        return result["access_token"]
    result = result or {}
    error = result.get("error", "no_token")
    description = (result.get("error_description") or "").splitlines()[0:1]
    codes = result.get("error_codes") or []
    code = f"AADSTS{codes[0]}" if codes else error
    transient = error in {"temporarily_unavailable", "server_error"}
    raise GraphError(
        f"{what} refused: {description[0] if description else error}",
        permanent=not transient,
        code=code,
    )


def _unreachable(exc: requests.RequestException) -> GraphError:
    # A TLS failure is configuration (wrong CA), not bad luck: retrying cannot help.
    permanent = isinstance(exc, requests.exceptions.SSLError)
    return GraphError(
        f"Cannot reach the sign-in service: {exc}", permanent=permanent, code="network"
    )


def _forget(app: msal.ConfidentialClientApplication) -> None:
    """Drop an app after a failure: MSAL's HTTP layer replays a token endpoint's HTTP 400 (and
    429/5xx) for up to a minute, which would hide a consent granted seconds later."""
    with _apps_lock:
        for key in [k for k, v in _apps.items() if v is app]:
            del _apps[key]


def acquire_app_token(*, tenant_id: str, scopes: list[str] | None = None) -> str:
    """An app-only access token for ``tenant_id`` (client credentials; cached per process by
    MSAL, and shared between processes through the cache)."""
    scopes = scopes or GRAPH_SCOPES
    shared = _shared_key(tenant_id, scopes)
    token = _shared_get(shared)
    if token is not None:
        return token
    answers: list[dict] = []

    def attempt() -> str:
        app = _app(str(tenant_id))

        def call() -> dict:
            answers.append(app.acquire_token_for_client(scopes=scopes) or {})
            return answers[-1]

        return _token(app, call, f"Token for tenant {tenant_id}")

    token = call_with_retries(attempt, what=f"token for {tenant_id}")
    expires_in = answers[-1].get("expires_in") if answers else None
    if isinstance(expires_in, int | float):
        _shared_set(shared, token, float(expires_in))
    return token


def probe_app_token(*, tenant_id: str) -> None:
    """Ask Entra for a fresh app-only token (never one from the cache): the answer itself says
    whether the operator app has a service principal in the tenant (AADSTS7000229 when not),
    with no Graph permission needed. docs/microsoft/consent-roles.md"""
    forget_tenant(str(tenant_id))
    acquire_app_token(tenant_id=tenant_id)


# The delegated ACS Clients permission a customer user's test sign-in asks for.
ACS_CLIENTS_VOIP_SCOPE = "https://communication.azure.com/clients/VoIP"


@dataclass(frozen=True)
class UserSignIn:
    """A customer user's test sign-in. ``token`` is used once and never stored or logged."""

    token: str = field(repr=False)
    scopes: list[str]
    upn: str
    oid: str
    tid: str


def start_user_sign_in(*, tenant_id: str, redirect_uri: str) -> dict[str, Any]:
    """Begin authorization code + PKCE for a user of ``tenant_id`` (scope VoIP).

    A fresh MSAL application each time, dropped after use: a customer user's tokens never land
    in the process-wide caches of ``_app``.

    Returns MSAL's flow: keep it server-side until the answer comes back (it holds the PKCE
    verifier and the state); send the user to its ``auth_uri``.
    """
    flow = _new_app(str(tenant_id)).initiate_auth_code_flow(
        [ACS_CLIENTS_VOIP_SCOPE], redirect_uri=redirect_uri, prompt="select_account"
    )
    if "error" in flow:
        raise GraphError(f"Sign-in could not start: {flow['error']}", permanent=True)
    return flow


def finish_user_sign_in(
    *, tenant_id: str, flow: dict[str, Any], response: dict[str, str]
) -> UserSignIn:
    """Redeem the code of ``response`` (the redirect's query) with the flow's PKCE verifier."""
    app = _new_app(str(tenant_id))
    try:
        result = app.acquire_token_by_auth_code_flow(flow, response)
    except ValueError as exc:  # MSAL: the state does not match the flow
        raise GraphError(
            "This sign-in answer is not the one the portal started.", permanent=True
        ) from exc
    except requests.RequestException as exc:
        raise _unreachable(exc) from exc
    token = _token_from_result(result, "Sign-in")
    claims = result.get("id_token_claims") or {}
    return UserSignIn(
        token=token,
        scopes=str(result.get("scope") or "").split(),
        upn=str(claims.get("preferred_username") or ""),
        oid=str(claims.get("oid") or ""),
        tid=str(claims.get("tid") or ""),
    )


def acquire_user_token_by_password(
    *, tenant_id: str, username: str, password: str, scopes: list[str]
) -> str:
    """Demo only (CLOUDSIM_MODE): a delegated token for a test user (ROPC)."""
    if not settings.CLOUDSIM_MODE:
        raise GraphError("Password sign-in is for the demo (CLOUDSIM_MODE) only.", permanent=True)
    app = _app(str(tenant_id))
    return _token(
        app,
        lambda: app.acquire_token_by_username_password(username, password, scopes=scopes),
        f"Sign-in of {username}",
    )


def _token(app: msal.ConfidentialClientApplication, call: Callable[[], dict], what: str) -> str:
    """Run one msal call for a token; on any failure forget ``app`` so the next try is fresh."""
    try:
        return _token_from_result(call(), what)
    except requests.RequestException as exc:
        _forget(app)
        raise _unreachable(exc) from exc
    except GraphError:
        _forget(app)
        raise


def normalize_guid(value: str) -> str | None:
    """The canonical GUID text when ``value`` is a GUID, else None."""
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


def resolve_tenant(domain_or_id: str) -> str:
    """The tenant GUID for a GUID or a verified domain, from the OpenID configuration.

    GUIDs are looked up too: Entra answers the metadata of existing tenants only (400
    ``invalid_tenant`` AADSTS90002 otherwise, the nil GUID included), so a typo is caught here
    and not at the customer admin's consent. Raises GraphError(permanent=True,
    code="unknown_tenant" or "unknown_domain") when Entra ID does not know it.
    """
    guid = normalize_guid(domain_or_id)
    domain = guid or domain_or_id.strip().lower()
    if guid:
        unknown = f"Entra ID knows no tenant with the id {guid}. Check the id (Entra admin "
        unknown += "center > Overview > Tenant ID), or register it offline."
        code = "unknown_tenant"
    elif re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", domain):
        unknown, code = f"Entra ID knows no tenant with the domain {domain}.", "unknown_domain"
    else:
        raise GraphError(
            f"{domain_or_id!r} is neither a tenant id nor a domain name.",
            permanent=True,
            code="malformed",
        )
    url = f"{authority_host()}/{quote(domain)}/v2.0/.well-known/openid-configuration"

    def attempt() -> str:
        try:
            response = http_session().get(url)
        except requests.RequestException as exc:
            raise _unreachable(exc) from exc
        if response.status_code in (400, 404):
            raise GraphError(unknown, permanent=True, status=response.status_code, code=code)
        if response.status_code != 200:
            raise GraphError.from_status(
                response.status_code,
                "The sign-in service did not answer the tenant lookup.",
                retry_after=retry_after_seconds(response.headers),
            )
        try:
            issuer = response.json().get("issuer") or response.json().get("token_endpoint", "")
        except ValueError as exc:
            raise GraphError("The tenant lookup returned no JSON.", permanent=False) from exc
        match = GUID_RE.search(issuer or "")
        if not match:
            raise GraphError(f"No tenant id in the issuer {issuer!r}.", permanent=True)
        found = match.group(0).lower()
        if guid and found != guid:
            raise GraphError(f"Entra ID answered for {found}, not {guid}.", permanent=True)
        return found

    return call_with_retries(attempt, what=f"tenant lookup for {domain}")


class MsalCredential:
    """An azure-core TokenCredential backed by the MSAL app of one tenant (for msgraph-sdk)."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **_kwargs) -> AccessToken:
        token = acquire_app_token(tenant_id=self.tenant_id, scopes=list(scopes) or GRAPH_SCOPES)
        # MSAL refreshes from its own cache; the SDK asks again for every request.
        return AccessToken(token, int(time.time()) + 300)
