"""The Microsoft part of the settings, computed from environment-style values.

``portal.settings`` applies it at start-up; the test suite applies it again once cloudsim has
started on its free ports (``tests/conftest.py``), so both read the same variables the same way.
"""

from __future__ import annotations

from collections.abc import Callable

Getter = Callable[[str, str], str]


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def microsoft_settings(get: Getter) -> dict:
    authority = get("ENTRA_AUTHORITY_HOST", "https://login.microsoftonline.com").rstrip("/")
    graph = get("GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0").rstrip("/")
    client_id = get("ENTRA_CLIENT_ID", "")
    secret = get("ENTRA_CLIENT_SECRET", "")
    home = get("ENTRA_HOME_TENANT_ID", "").lower()
    apps = []
    if client_id and secret:
        apps.append(
            {
                "client_id": client_id,
                "secret": secret,
                "settings": {
                    "tenant": home or "organizations",
                    "login_url": authority,
                    "graph_url": graph.removesuffix("/v1.0"),
                },
            }
        )
    return {
        "ENTRA_AUTHORITY_HOST": authority,
        "GRAPH_BASE_URL": graph,
        "ENTRA_CLIENT_ID": client_id,
        "ENTRA_CLIENT_SECRET": secret,
        "ENTRA_HOME_TENANT_ID": home,
        # Extra CA trusted for Microsoft endpoints (cloudsim's CA in the demo); empty = system.
        "MICROSOFT_CA_BUNDLE": get("MICROSOFT_CA_BUNDLE", ""),
        # Where ACS endpoints may point (portal/outbound.py; docs/microsoft/acs-endpoints.md).
        "ACS_ENDPOINT_SUFFIXES": _names(
            get(
                "ACS_ENDPOINT_SUFFIXES",
                ".communication.azure.com,.communication.azure.us,.communication.azure.cn",
            )
        ),
        # host or host:port admitted besides the suffixes (cloudsim in the demo and tests).
        "ACS_ALLOWED_HOSTS": _names(get("ACS_ALLOWED_HOSTS", "")),
        # Hosts of ACS_ALLOWED_HOSTS may resolve to loopback/private addresses.
        "OUTBOUND_ALLOW_PRIVATE": get("OUTBOUND_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes"),
        # Access-key variables a resource may name: this prefix, or one listed.
        "ACS_KEY_ENV_PREFIX": get("ACS_KEY_ENV_PREFIX", "ACS_KEY_"),
        "ACS_KEY_ENV_VARS": _names(get("ACS_KEY_ENV_VARS", "")),
        "SOCIALACCOUNT_PROVIDERS": {
            "microsoft": {
                "APPS": apps,
                "SCOPE": ["openid", "email", "profile", "User.Read"],
                "OAUTH_PKCE_ENABLED": True,
            }
        },
        "CONTENT_SECURITY_POLICY": {
            "DIRECTIVES": {
                "default-src": ["'self'"],
                "script-src": ["'self'"],
                "style-src": ["'self'"],
                "img-src": ["'self'", "data:"],
                "connect-src": ["'self'"],
                "font-src": ["'self'"],
                "object-src": ["'none'"],
                "base-uri": ["'none'"],
                "frame-ancestors": ["'none'"],
                # Chromium applies form-action to the redirect after a POST: allow Microsoft.
                "form-action": ["'self'", authority],
            }
        },
    }
