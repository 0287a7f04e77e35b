"""The Microsoft part of the settings, computed from environment-style values.

``portal.settings`` applies it at start-up; the test suite applies it again once cloudsim has
started on its free ports (``tests/conftest.py``), so both read the same variables the same way.
"""

from __future__ import annotations

from collections.abc import Callable

Getter = Callable[[str, str], str]


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
