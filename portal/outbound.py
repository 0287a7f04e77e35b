"""Guarded outbound HTTP: the one way the portal calls a URL that a person typed.

An ACS endpoint (and, later, a webhook URL) is chosen by a person, so a request to it can be
turned against the portal's own network: cloud metadata at 169.254.169.254, an admin port on
loopback, a database on a private address. Every such request goes through this module:

- ``check_url(url, policy)`` says whether a URL may be called at all: ``https`` only, no user
  name or password in it, a host that ends with one of the policy's suffixes or is listed in
  its allowlist. It does no DNS; forms and services call it to refuse bad input early.
- ``transport(policy)`` is an ``httpx.HTTPTransport`` that resolves the host itself when it
  connects, refuses the connection unless **every** address is allowed, and then connects to
  an address it checked (TLS still verifies the certificate against the host name). So there
  is no gap between the check and the connection for a DNS answer to change (rebinding).
- ``client(policy)`` is an ``httpx.Client`` on that transport that never follows redirects,
  ignores proxy variables (a proxy would connect on our behalf, unchecked) and has a timeout.
- ``UNREACHABLE`` is the one message to show a person for any transport failure: a closed port,
  a non-HTTP service and a timeout must look the same, or the form becomes a port scanner.

Loopback, private, shared and reserved addresses are refused unless the policy allows private
addresses (``OUTBOUND_ALLOW_PRIVATE``, for hosts on the allowlist only: how the demo and the
tests admit cloudsim on 127.0.0.1). Link-local (cloud metadata), multicast and unspecified
addresses are refused always. Models: healthchecks' ``hc/lib/curl.py`` and paperless-ngx's
``validate_outbound_http_url``.
"""

from __future__ import annotations

import ipaddress
import socket
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpcore
import httpx

UNREACHABLE = "The server could not be reached, or did not answer as an HTTPS API does."
DEFAULT_TIMEOUT = 10.0


class DestinationRefused(ValueError):
    """A URL or address the policy does not allow. The message is meant for the person."""


@dataclass(frozen=True)
class Policy:
    """Where outbound requests may go.

    ``suffixes``: host name endings that are allowed (``.communication.azure.com``); a suffix
    matches the host itself without its dot too. ``allowed_hosts``: ``host`` or ``host:port``
    entries allowed besides the suffixes. ``allow_private``: hosts on ``allowed_hosts`` may
    resolve to loopback or private addresses. ``any_host``: every public host name or address
    is allowed (webhook receivers); the address checks still apply. ``allow_http``: plain
    ``http://`` too (webhooks outside production only).
    """

    suffixes: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allow_private: bool = False
    any_host: bool = False
    allow_http: bool = False

    @classmethod
    def build(
        cls, *, suffixes: Iterable[str], allowed_hosts: Iterable[str], allow_private: bool
    ) -> Policy:
        # A suffix always starts with a dot, so "communication.azure.com" cannot admit
        # "evilcommunication.azure.com".
        return cls(
            suffixes=tuple(f".{s.strip().lower().lstrip('.')}" for s in suffixes if s.strip()),
            allowed_hosts=frozenset(h.strip().lower() for h in allowed_hosts if h.strip()),
            allow_private=allow_private,
        )

    def listed(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.allowed_hosts or f"{_netloc_host(host)}:{port}" in self.allowed_hosts


def _netloc_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Destination:
    """A checked URL: its origin (``https://host[:port]``), host and port."""

    origin: str
    host: str
    port: int


def check_url(url: str, policy: Policy) -> Destination:
    """The URL's destination if the policy allows it; raises ``DestinationRefused``."""
    try:
        parts = urlsplit((url or "").strip())
        scheme = parts.scheme.lower()
        port = parts.port or (80 if scheme == "http" else 443)
    except ValueError:
        raise DestinationRefused("The address is not a valid URL.") from None
    if scheme != "https" and not (scheme == "http" and policy.allow_http):
        raise DestinationRefused("Only https:// addresses are allowed.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise DestinationRefused("The address has no host name.")
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused("The address must not contain a user name or password.")
    listed = policy.listed(host, port)
    if policy.any_host and not listed:
        _check_any_host_literal(host)
    elif not listed and not any(_matches(host, suffix) for suffix in policy.suffixes):
        allowed = ", ".join(f"*{s}" for s in policy.suffixes) or "no host names"
        raise DestinationRefused(
            f"The host {host} is not allowed: use one ending with {allowed}, or ask an "
            "administrator to allow the host in the portal's settings."
        )
    if not listed and not policy.any_host:
        _check_literal(host)
    default_port = 80 if scheme == "http" else 443
    netloc = _netloc_host(host) + ("" if port == default_port else f":{port}")
    return Destination(origin=f"{scheme}://{netloc}", host=host, port=port)


def _matches(host: str, suffix: str) -> bool:
    return host.endswith(suffix) or host == suffix.lstrip(".")


def _check_literal(host: str) -> None:
    """A suffix-matched host is a name; an IP literal there can only be a trick."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    raise DestinationRefused("Use the resource's host name, not an IP address.")


def _check_any_host_literal(host: str) -> None:
    """An address typed as the host is checked at once, for a clear message in the form."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    check_address(host, private_ok=False)


def check_address(address: str, *, private_ok: bool) -> None:
    """Refuse an address the portal must never connect to; raises ``DestinationRefused``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        raise DestinationRefused("The host resolves to an address the portal never connects to.")
    if not ip.is_global and not private_ok:
        raise DestinationRefused(
            "The host resolves to a private, loopback or reserved address, which is not allowed."
        )


def resolve(host: str, port: int, policy: Policy) -> list[str]:
    """Every address of ``host``, each checked against the policy (all must pass)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DestinationRefused(f"The host {host} could not be found (DNS).") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    private_ok = policy.allow_private and policy.listed(host, port)
    for address in addresses:
        check_address(address, private_ok=private_ok)
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves and checks at connect time, then connects to a checked address only."""

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port, self._policy)
        except DestinationRefused as exc:
            # httpx maps this to httpx.ConnectError: to the caller, an unreachable server.
            raise httpcore.ConnectError(str(exc)) from None
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections go through ``_GuardedBackend``."""

    def __init__(self, policy: Policy, **kwargs: typing.Any) -> None:
        limits = kwargs.pop("limits", httpx.Limits())
        verify = kwargs.pop("verify", True)
        super().__init__(verify=verify, limits=limits, trust_env=False, **kwargs)
        # httpx 0.28 takes no network backend, so the pool it built is replaced by the same
        # pool on the guarded backend (constraints.txt pins httpx and httpcore).
        pool = self._pool
        assert isinstance(pool, httpcore.ConnectionPool)
        self._pool = httpcore.ConnectionPool(
            ssl_context=pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_GuardedBackend(policy),
        )


def transport(policy: Policy, **kwargs: typing.Any) -> GuardedTransport:
    """A transport for ``httpx.Client(transport=...)``; kwargs as ``httpx.HTTPTransport``."""
    return GuardedTransport(policy, **kwargs)


def client(
    policy: Policy, *, timeout: float = DEFAULT_TIMEOUT, **kwargs: typing.Any
) -> httpx.Client:
    """An ``httpx.Client`` that only reaches what ``policy`` allows and never follows redirects.

    ``kwargs`` go to ``httpx.Client`` (``base_url``, ``auth``, ``headers``); ``verify`` and
    ``limits`` go to the transport.
    """
    transport_kwargs = {k: kwargs.pop(k) for k in ("verify", "limits") if k in kwargs}
    return httpx.Client(
        transport=GuardedTransport(policy, **transport_kwargs),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        **kwargs,
    )
