"""Admin consent: `/{tenant}/adminconsent` (v1) and `/{tenant}/v2.0/adminconsent` (v2).

GET shows the consent page; POST (form fields `user` = a UPN, `action` = approve|decline)
records the simulated admin's answer and redirects the way Entra does.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from . import ids
from .aad import aadsts, add_query, redirect_uri_registered
from .directory import DirectoryError
from .httpkit import Request, Response, Router, redirect
from .pages import error_page, page, user_options

OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}

if TYPE_CHECKING:
    from .app import CloudSim


def add_routes(r: Router, sim: CloudSim) -> None:
    def v1(req: Request) -> Response:
        return admin_consent(sim, req, v2=False)

    def v2(req: Request) -> Response:
        return admin_consent(sim, req, v2=True)

    for method in ("GET", "POST"):
        r.add(method, "/{tenant}/adminconsent", v1)
        r.add(method, "/{tenant}/v2.0/adminconsent", v2)


@dataclass(frozen=True)
class Requested:
    """The permissions one consent request asks for."""

    graph_app_roles: list[str]
    graph_scopes: list[str]
    acs_scopes: list[str]

    def labels(self) -> list[str]:
        acs = [f"Azure Communication Services Clients: {s} (delegated)" for s in self.acs_scopes]
        graph = [f"Microsoft Graph: {r} (application)" for r in self.graph_app_roles]
        graph += [f"Microsoft Graph: {s} (delegated)" for s in self.graph_scopes]
        return acs + graph


def requested_permissions(app: dict, scope: str | None) -> Requested | str:
    """What is asked: the registration's permissions (v1, `.default`) or the v2 scopes named.

    Dynamic v2 scopes are delegated permissions only; application permissions come only from
    the registration through `.default` (docs/microsoft/consent-endpoint.md). Returns the
    unknown scope's name when one does not exist on its resource (AADSTS650053).
    """
    names = [s for s in (scope or "").split() if s not in OIDC_SCOPES]
    if scope is None or any(s.endswith("/.default") for s in names):
        return Requested(
            list(app["_graph_app_roles"]), list(app["_graph_scopes"]), list(app["_acs_scopes"])
        )
    graph_scopes, acs_scopes = [], []
    for name in names:
        resource, _, value = name.rpartition("/")
        if resource in (ids.ACS_CLIENTS_RESOURCE,) and value in ids.ACS_CLIENTS_SCOPES:
            acs_scopes.append(value)
        elif resource in ("", ids.GRAPH_RESOURCE) and value in ids.GRAPH_SCOPES:
            graph_scopes.append(value)
        else:
            return name
    return Requested([], graph_scopes, acs_scopes)


def error_answer(error: str, code: int, text: str, *, tenant: str = "") -> list[tuple[str, str]]:
    """The redirect parameters of a consent failure, in the order real Entra sends them.

    Shape of MicrosoftDocs/azure-docs issue 114009 (a cancel recorded from Entra):
    error, error_description, error_uri, admin_consent=True, then state; `tenant` only where
    Entra knows it (see cloudsim/README.md).
    """
    params = [
        ("error", error),
        ("error_description", aadsts(code, text)),
        ("error_uri", f"https://login.microsoftonline.com/error?code={code}"),
        ("admin_consent", "True"),
    ]
    if tenant:
        params.append(("tenant", tenant))
    return params


def may_grant(roles: set[str], requested: Requested) -> bool:
    """Global and Privileged Role admins grant anything; Application and Cloud application
    admins anything but Microsoft Graph application permissions
    (docs/microsoft/consent-roles.md)."""
    if roles & set(ids.ADMIN_ROLES_ANY_CONSENT):
        return True
    return bool(roles & set(ids.ADMIN_ROLES_NON_GRAPH_CONSENT)) and not requested.graph_app_roles


def admin_consent(sim: CloudSim, req: Request, *, v2: bool) -> Response:
    d = sim.directory
    q = req.query
    tenant_ref = req.params["tenant"]
    tenant = None
    if tenant_ref.lower() == "common":
        return error_page(
            90130, "Admin consent is not supported on the /common endpoint. Use /organizations."
        )
    if tenant_ref.lower() != "organizations":
        tenant = d.tenant(tenant_ref)
        if not tenant:
            return error_page(90002, f"Tenant '{tenant_ref}' not found.")
    client_id = q.get("client_id", "")
    found = d.application_by_app_id(client_id) if client_id else None
    where = tenant["displayName"] if tenant else tenant_ref
    if not found:
        # No app, so no registered redirect URI to trust: Entra shows its own page.
        return error_page(
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{where}'. This can happen if the application has not been installed by the "
            "administrator of the tenant or consented to by any user in the tenant. You may "
            "have sent your authentication request to the wrong tenant.",
        )
    _home, app = found
    redirect_uri = q.get("redirect_uri", "")
    if not redirect_uri_registered(redirect_uri, app["web"]["redirectUris"]):
        return error_page(
            50011,
            f"The redirect URI '{redirect_uri}' specified in the request does not match the "
            f"redirect URIs configured for the application '{client_id}'. Make sure the redirect "
            "URI sent in the request matches one added to your application in the Azure portal.",
        )
    state = q.get("state")

    def back(params: list[tuple[str, str]]) -> Response:
        if state is not None:
            params.append(("state", state))
        return redirect(add_query(redirect_uri, params))

    if v2 and not q.get("scope"):
        return back(
            [
                ("error", "invalid_request"),
                (
                    "error_description",
                    aadsts(
                        900144, "The request body must contain the following parameter: 'scope'."
                    ),
                ),
                ("error_uri", "https://login.microsoftonline.com/error?code=900144"),
            ]
        )
    requested = requested_permissions(app, q.get("scope") if v2 else None)
    if isinstance(requested, str):
        return back(
            error_answer(
                "invalid_client",
                650053,
                f"The application '{app['displayName']}' asked for scope '{requested}' that "
                "doesn't exist on the resource. Contact the app vendor.",
            )
        )
    if tenant is None and req.method == "GET":
        users = [u for t in d.tenants() for u in d.users(t["id"])][:500]
    else:
        users = d.users(tenant["id"]) if tenant else []
    if req.method == "GET":
        return _consent_page(req, app, tenant, users, requested)

    form = req.form()
    upn = form.get("user", "")
    user_tenant = d.tenant_of_upn(upn)
    user = d.user(user_tenant["id"], upn) if user_tenant else None
    if user is None:
        return error_page(50034, f"The user account {upn} does not exist in the directory.")
    if tenant is not None and user_tenant["id"] != tenant["id"]:
        # A user of another organization: Entra stops on its own page.
        return error_page(
            50020,
            f"User account '{upn}' from identity provider 'https://sts.windows.net/"
            f"{user_tenant['id']}/' does not exist in tenant '{tenant['displayName']}' and cannot "
            f"access the application '{client_id}'({app['displayName']}) in that tenant. The "
            "account needs to be added as an external user in the tenant first.",
        )
    tid = user_tenant["id"]
    if form.get("action") != "approve":
        return back(
            error_answer("access_denied", 65004, "User declined to consent to access the app.")
        )
    if not may_grant(set(user.get("_roles", [])), requested):
        return back(
            error_answer(
                "access_denied",
                90094,
                f"{app['displayName']} needs permission to access resources in your "
                "organization that only an admin can grant. Please ask an admin to grant "
                "permission to this app before you can use it.",
            )
        )
    try:
        d.grant_admin_consent(
            tid,
            app,
            graph_app_roles=requested.graph_app_roles,
            graph_scopes=requested.graph_scopes,
            acs_scopes=requested.acs_scopes,
        )
    except DirectoryError:
        return back(
            error_answer(
                "invalid_client",
                650052,
                f"The app is trying to access a service '{ids.ACS_CLIENTS_APP_ID}'(Azure "
                f"Communication Services Clients) that your organization '{tid}' lacks a "
                "service principal for. Contact your IT Admin to review the configuration "
                "of your service subscriptions or consent to the application in order to "
                "create the required service principal.",
                tenant=tid,
            )
        )
    params = [("admin_consent", "True"), ("tenant", tid)]
    if v2:
        params.append(("scope", q["scope"]))
    return back(params)


def _consent_page(
    req: Request, app: dict, tenant: dict | None, users: list[dict], requested: Requested
) -> Response:
    decline_first = bool(tenant) and tenant.get("_consent_page_default") == "decline"
    admin = next((u["userPrincipalName"] for u in users if u.get("_roles")), "")
    perms = "".join(f"<li>{escape(p)}</li>" for p in requested.labels())
    approve = '<button type="submit" name="action" value="approve">Accept</button>'
    decline = '<button type="submit" name="action" value="decline">Cancel</button>'
    if decline_first:
        decline = decline.replace("<button ", "<button autofocus ")
    buttons = decline + approve if decline_first else approve + decline
    org = escape(tenant["displayName"]) if tenant else "your organization"
    body = f"""
<p><strong>{escape(app["displayName"])}</strong> (app id {escape(app["appId"])}) is requesting
these permissions for {org}:</p>
<ul id="permissions">{perms}</ul>
<p>Accepting grants them for every user in the organization.</p>
<form method="post" action="{escape(req.raw_path)}">
<input type="hidden" name="nonce" value="{secrets.token_urlsafe(16)}">
<label for="user">Signed in as</label>
<select id="user" name="user">{user_options(users, admin)}</select>
{buttons}
</form>"""
    return page("Permissions requested", body)
