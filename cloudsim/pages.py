"""Small accessible HTML pages for the simulated sign-in and consent screens."""

from __future__ import annotations

from html import escape

from .aad import trace_suffix
from .httpkit import Response, html_response


def page(title: str, body: str, status: int = 200) -> Response:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem}}button{{margin:1rem .5rem 0 0;padding:.5rem 1rem}}
.error{{color:#a4262c}}</style></head>
<body><main><p>cloudsim &middot; Microsoft (simulated)</p><h1>{escape(title)}</h1>
{body}</main></body></html>"""
    return html_response(status, html)


def error_page(code: int, text: str, status: int = 400) -> Response:
    """Entra's own error screen: shown at Microsoft, never redirected to the app."""
    body = (
        f'<p class="error" role="alert" id="error-code">AADSTS{code}: {escape(text)}</p>'
        f"<p><small>{escape(trace_suffix().strip())}</small></p>"
    )
    return page("Sorry, but we're having trouble signing you in.", body, status)


def user_options(users: list[dict], selected: str = "") -> str:
    options = []
    for u in users:
        upn = u["userPrincipalName"]
        roles = ", ".join(u.get("_roles", [])) or "User"
        sel = " selected" if upn == selected else ""
        options.append(
            f'<option value="{escape(upn)}"{sel}>{escape(u["displayName"])} '
            f"({escape(upn)}) &mdash; {escape(roles)}</option>"
        )
    return "\n".join(options)
