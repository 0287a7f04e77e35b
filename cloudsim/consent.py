"""Admin consent: `/{tenant}/adminconsent` (v1) and `/{tenant}/v2.0/adminconsent` (v2).

GET shows the consent page; POST (form fields `user` = a UPN, `action` = approve|decline)
records the simulated admin's answer and redirects the way Entra does.
"""

from __future__ import annotations

import secrets
from html import escape
from typing import TYPE_CHECKING

from . import ids
from .aad import aadsts, add_query, redirect_uri_registered
from .directory import DirectoryError
from .httpkit import Request, Response, Router, redirect
from .pages import error_page, page, user_options

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


def _permission_list(app: dict) -> list[str]:
    graph = [f"Microsoft Graph: {r} (application)" for r in app["_graph_app_roles"]]
    graph += [f"Microsoft Graph: {s} (delegated)" for s in app["_graph_scopes"]]
    acs = [f"Azure Communication Services Clients: {s} (delegated)" for s in app["_acs_scopes"]]
    return acs + graph


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
            ]
        )
    if tenant is None and req.method == "GET":
        users = [u for t in d.tenants() for u in d.users(t["id"])][:500]
    else:
        users = d.users(tenant["id"]) if tenant else []
    if req.method == "GET":
        return _consent_page(req, app, tenant, users)

    form = req.form()
    upn = form.get("user", "")
    user_tenant = d.tenant_of_upn(upn)
    user = d.user(user_tenant["id"], upn) if user_tenant else None
    if user is None:
        return error_page(50034, f"The user account {upn} does not exist in the directory.")
    if tenant is not None and user_tenant["id"] != tenant["id"]:
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
            [
                ("error", "access_denied"),
                ("error_subcode", "cancel"),
                ("error_description", aadsts(65004, "User declined to consent to access the app.")),
            ]
        )
    roles = set(user.get("_roles", []))
    may_consent = bool(roles & set(ids.ADMIN_ROLES_ANY_CONSENT)) or (
        bool(roles & set(ids.ADMIN_ROLES_NON_GRAPH_CONSENT)) and not app["_graph_app_roles"]
    )
    if not may_consent:
        return back(
            [
                ("error", "access_denied"),
                (
                    "error_description",
                    aadsts(
                        90094,
                        "Admin consent is required for the permissions requested by this "
                        "application. An administrator must grant them for the organization "
                        "(granting Microsoft Graph application permissions needs a Global "
                        "Administrator or Privileged Role Administrator).",
                    ),
                ),
            ]
        )
    try:
        d.grant_admin_consent(tid, app)
    except DirectoryError:
        return back(
            [
                ("error", "invalid_client"),
                (
                    "error_description",
                    aadsts(
                        650052,
                        f"The app is trying to access a service '{ids.ACS_CLIENTS_APP_ID}'(Azure "
                        f"Communication Services Clients) that your organization '{tid}' lacks a "
                        "service principal for. Contact your IT Admin to review the configuration "
                        "of your service subscriptions or consent to the application in order to "
                        "create the required service principal.",
                    ),
                ),
            ]
        )
    params = [("admin_consent", "True"), ("tenant", tid)]
    if v2:
        params.append(("scope", q["scope"]))
    return back(params)


def _consent_page(req: Request, app: dict, tenant: dict | None, users: list[dict]) -> Response:
    decline_first = bool(tenant) and tenant.get("_consent_page_default") == "decline"
    admin = next((u["userPrincipalName"] for u in users if u.get("_roles")), "")
    perms = "".join(f"<li>{escape(p)}</li>" for p in _permission_list(app))
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
