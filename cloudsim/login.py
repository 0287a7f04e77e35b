"""The login host: OIDC metadata, JWKS, the token and authorize endpoints.

The admin-consent endpoints live in `consent.py` and share this listener.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from html import escape
from typing import TYPE_CHECKING, Any

from . import consent, ids
from .aad import add_query, redirect_uri_registered, token_error
from .httpkit import Request, Response, Router, json_response, redirect
from .pages import error_page, page, user_options
from .tokens import TOKEN_LIFETIME, access_token_claims, id_token_claims

if TYPE_CHECKING:
    from .app import CloudSim

OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
MULTI_TENANT = {"common", "organizations"}
RESOURCES = {
    ids.GRAPH_RESOURCE: ids.GRAPH_APP_ID,
    ids.GRAPH_APP_ID: ids.GRAPH_APP_ID,
    ids.ACS_RESOURCE: None,  # the ACS resource itself (no service principal modelled)
    ids.ACS_CLIENTS_RESOURCE: ids.ACS_CLIENTS_APP_ID,
}


class Login:
    def __init__(self, sim: CloudSim) -> None:
        self.sim = sim
        self._codes: dict[str, dict[str, Any]] = {}
        self._refresh: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def dir(self):
        return self.sim.directory

    # metadata ---------------------------------------------------------------------------
    def unknown_tenant(self, tenant: str) -> Response:
        return token_error(
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
            "and are signing into the correct cloud. Check with your subscription "
            "administrator, this may happen if there are no active subscriptions for the tenant.",
        )

    def openid_configuration(self, req: Request) -> Response:
        tenant = req.params["tenant"]
        base = self.sim.login_url
        if tenant.lower() in MULTI_TENANT | {"consumers"}:
            tid, path_tenant = "{tenantid}", tenant
        else:
            doc = self.dir.tenant(tenant)
            if not doc:
                return self.unknown_tenant(tenant)
            tid = path_tenant = doc["id"]
        return json_response(
            200,
            {
                "token_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{path_tenant}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": f"{self.sim.listeners['graph'].url}/oidc/userinfo",
                "authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/logout",
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "nonce",
                    "preferred_username",
                    "name",
                    "tid",
                    "ver",
                    "oid",
                    "email",
                ],
                "kerberos_endpoint": f"{base}/{path_tenant}/kerberos",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "cloudsim.local",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": self.sim.listeners["graph"].url.removeprefix("https://"),
                "rbac_url": "https://pas.windows.net",
            },
        )

    def keys(self, req: Request) -> Response:
        tenant = req.params.get("tenant", "common")
        if tenant.lower() not in MULTI_TENANT | {"consumers"} and not self.dir.tenant(tenant):
            return self.unknown_tenant(tenant)
        return json_response(200, {"keys": [self.sim.signer.jwk]})

    def user_realm(self, req: Request) -> Response:
        upn = req.params["username"]
        tenant = self.dir.tenant_of_upn(upn)
        return json_response(
            200,
            {
                "ver": "1.0",
                "account_type": "Managed" if tenant else "Unknown",
                "domain_name": upn.rpartition("@")[2],
                "cloud_instance_name": "cloudsim.local",
                "cloud_audience_urn": "urn:federation:MicrosoftOnline",
            },
        )

    # token endpoint ---------------------------------------------------------------------
    def token(self, req: Request) -> Response:
        form = req.form()
        tenant_ref = req.params["tenant"]
        tenant = None
        if tenant_ref.lower() not in MULTI_TENANT:
            tenant = self.dir.tenant(tenant_ref)
            if not tenant:
                return self.unknown_tenant(tenant_ref)
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
        basic = req.header("authorization")
        if basic.lower().startswith("basic "):
            raw = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = raw.partition(":")
        found = self.dir.application_by_app_id(client_id) if client_id else None
        if not found:
            where = tenant["displayName"] if tenant else tenant_ref
            return token_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{where}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        _, app = found
        if secret is None:
            return token_error(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' "
                "or 'client_secret'.",
            )
        if not secrets.compare_digest(secret.encode(), app["_secret"].encode()):
            return token_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        if self.dir.secret_expired(app):  # docs/microsoft/tenant-lifecycle.md
            return token_error(
                401,
                "invalid_client",
                7000222,
                f"The provided client secret keys for app '{client_id}' are expired. Visit the "
                "Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
                "consider using certificate credentials for added security: "
                "https://aka.ms/certCreds.",
            )
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            return self._client_credentials(tenant, tenant_ref, app, form)
        if grant == "password":
            return self._password(tenant, app, form)
        if grant == "authorization_code":
            return self._authorization_code(app, form)
        if grant == "refresh_token":
            return self._refresh_token(app, form)
        return token_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )

    def _client_credentials(self, tenant, tenant_ref: str, app, form) -> Response:
        if tenant is None:
            return token_error(
                400,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by "
                "any provided credentials.",
            )
        scopes = form.get("scope", "").split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return token_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scopes)} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource "
                "identifier (application ID URI).",
            )
        requested = scopes[0].removesuffix("/.default")
        # The azure-communication-* SDKs ask for https://communication.azure.com//.default:
        # the identifier with a trailing slash, which Entra matches too; the token's aud is
        # the identifier as asked (docs/microsoft/acs-entra.md).
        resource = requested.rstrip("/") if requested.rstrip("/") == ids.ACS_RESOURCE else requested
        if resource not in RESOURCES or resource == ids.ACS_CLIENTS_RESOURCE:
            return token_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named "
                f"{tenant['displayName']}. This can happen if the application has not been "
                "installed by the administrator of the tenant or consented to by any user in "
                "the tenant. You might have sent your authentication request to the wrong tenant.",
            )
        tid = tenant["id"]
        sp = self.dir.sp_by_app_id(tid, app["appId"])
        if not sp:
            return token_error(
                400,
                "invalid_client",
                7000229,
                f"The client application {app['appId']} is missing service principal in the "
                f"tenant {tid}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
            )
        if sp.get("accountEnabled") is False:  # docs/microsoft/tenant-lifecycle.md
            return token_error(
                400,
                "unauthorized_client",
                7000112,
                f"Application '{app['appId']}'({app['displayName']}) is disabled.",
            )
        aud = ids.GRAPH_RESOURCE if RESOURCES[resource] == ids.GRAPH_APP_ID else requested
        roles = (
            self.dir.app_roles_of(tid, app["appId"], ids.GRAPH_APP_ID)
            if aud == ids.GRAPH_RESOURCE
            else []
        )
        claims = access_token_claims(
            tid=tid,
            aud=aud,
            app_id=app["appId"],
            app_name=app["displayName"],
            subject_oid=sp["id"],
            roles=roles,
        )
        return self._token_response(self.sim.signer.sign(claims), None)

    def _parse_delegated(self, app, tid: str, scope_text: str) -> tuple[str, list[str]] | Response:
        """(audience, scopes) for a delegated request, or the error Entra would return."""
        resource_scopes: dict[str, list[str]] = {}
        for s in scope_text.split():
            if s in OIDC_SCOPES:
                continue
            if "/" in s:
                resource, _, name = s.rpartition("/")
            else:
                resource, name = ids.GRAPH_RESOURCE, s
            resource_scopes.setdefault(resource, []).append(name)
        if len(resource_scopes) > 1:
            return token_error(
                400,
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains "
                "more than one resource.",
            )
        if not resource_scopes:
            resource_scopes = {ids.GRAPH_RESOURCE: ["User.Read"]}
        resource, names = next(iter(resource_scopes.items()))
        if resource not in RESOURCES or RESOURCES[resource] is None:
            return token_error(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant.",
            )
        resource_app = RESOURCES[resource]
        if resource_app == ids.ACS_CLIENTS_APP_ID:
            if not self.dir.sp_by_app_id(tid, ids.ACS_CLIENTS_APP_ID):
                return token_error(
                    400,
                    "invalid_client",
                    650052,
                    f"The app is trying to access a service '{ids.ACS_CLIENTS_APP_ID}'(Azure "
                    f"Communication Services Clients) that your organization '{tid}' lacks a "
                    "service principal for. Contact your IT Admin to review the configuration of "
                    "your service subscriptions or consent to the application in order to create "
                    "the required service principal.",
                )
            granted = self.dir.delegated_scopes_of(tid, app["appId"], ids.ACS_CLIENTS_APP_ID)
            wanted = granted if names == [".default"] else names
            if not granted or not set(wanted) <= set(granted):
                return token_error(
                    400,
                    "invalid_grant",
                    65001,
                    f"The user or administrator has not consented to use the application with ID "
                    f"'{app['appId']}' named '{app['displayName']}'. Send an interactive "
                    "authorization request for this user and resource.",
                )
            return ids.ACS_CLIENTS_RESOURCE, wanted
        if names == [".default"]:
            names = self.dir.delegated_scopes_of(tid, app["appId"], ids.GRAPH_APP_ID) or [
                "User.Read"
            ]
        # Graph delegated scopes: user consent is assumed (cloudsim choice, see README).
        return ids.GRAPH_RESOURCE, [*names, *sorted(OIDC_SCOPES - {"offline_access"})]

    def _user_tokens(self, app, user, scope_text: str, nonce: str | None, form) -> Response:
        tid = user["_tid"]
        parsed = self._parse_delegated(app, tid, scope_text)
        if isinstance(parsed, Response):
            return parsed
        aud, scp = parsed
        claims = access_token_claims(
            tid=tid,
            aud=aud,
            app_id=app["appId"],
            app_name=app["displayName"],
            subject_oid=user["id"],
            scp=scp,
            user=user,
        )
        requested = set(scope_text.split())
        id_token = None
        if "openid" in requested or form.get("client_info") == "1":
            id_token = self.sim.signer.sign(
                id_token_claims(
                    login_url=self.sim.login_url,
                    tid=tid,
                    client_id=app["appId"],
                    user=user,
                    nonce=nonce,
                )
            )
        refresh = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh[refresh] = {"tid": tid, "oid": user["id"], "app": app["appId"]}
        prefix = "" if aud == ids.GRAPH_RESOURCE else f"{aud}/"
        scope_out = " ".join(f"{prefix}{s}" for s in scp if s not in OIDC_SCOPES)
        extra = {"scope": scope_out, "refresh_token": refresh}
        if form.get("client_info") == "1":
            info = json.dumps({"uid": user["id"], "utid": tid}).encode()
            extra["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode()
        return self._token_response(self.sim.signer.sign(claims), id_token, extra)

    def _token_response(self, access: str, id_token: str | None, extra=None) -> Response:
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME - 1,
            "ext_expires_in": TOKEN_LIFETIME - 1,
            "access_token": access,
        }
        if id_token:
            body["id_token"] = id_token
        body.update(extra or {})
        return json_response(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _password(self, tenant, app, form) -> Response:
        upn = form.get("username", "")
        user = self._find_user(tenant, upn)
        if user is None:
            where = tenant["id"] if tenant else upn.rpartition("@")[2]
            return token_error(
                400,
                "invalid_grant",
                50034,
                f"The user account {upn} does not exist in the {where} directory. To sign into "
                "this application, the account must be added to the directory.",
            )
        if form.get("password") != user["_password"]:
            return token_error(
                400,
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            )
        return self._user_tokens(app, user, form.get("scope", ""), None, form)

    def _find_user(self, tenant, upn: str):
        home = self.dir.tenant_of_upn(upn)
        if not home or (tenant and tenant["id"] != home["id"]):
            return None
        return self.dir.user(home["id"], upn)

    def _authorization_code(self, app, form) -> Response:
        with self._lock:
            entry = self._codes.pop(form.get("code", ""), None)
        if not entry or entry["expires"] < time.time() or entry["client_id"] != app["appId"]:
            return token_error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. "
                "Send a new interactive authorization request for this user and resource.",
            )
        if form.get("redirect_uri") != entry["redirect_uri"]:
            return token_error(
                400,
                "invalid_grant",
                50148,
                "The redirect_uri does not match the redirect_uri used in the authorization "
                "request.",
            )
        if entry["code_challenge"]:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if entry["method"] == "plain":
                computed = verifier
            if computed != entry["code_challenge"]:
                return token_error(
                    400,
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request.",
                )
        user = self.dir.user(entry["tid"], entry["oid"])
        return self._user_tokens(app, user, entry["scope"], entry["nonce"], form)

    def _refresh_token(self, app, form) -> Response:
        with self._lock:
            entry = self._refresh.pop(form.get("refresh_token", ""), None)
        if not entry or entry["app"] != app["appId"]:
            return token_error(
                400,
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid.",
            )
        user = self.dir.user(entry["tid"], entry["oid"])
        return self._user_tokens(app, user, form.get("scope", ""), None, form)

    # authorize (the simulated sign-in page) ---------------------------------------------
    def authorize(self, req: Request) -> Response:
        q = req.query
        if req.method == "POST":
            q = {**q, **req.form()}
        tenant_ref = req.params["tenant"]
        tenant = None
        if tenant_ref.lower() not in MULTI_TENANT:
            tenant = self.dir.tenant(tenant_ref)
            if not tenant:
                return error_page(90002, f"Tenant '{tenant_ref}' not found.")
        found = self.dir.application_by_app_id(q.get("client_id", ""))
        if not found:
            return error_page(
                700016,
                f"Application with identifier '{q.get('client_id', '')}' was not found in the "
                f"directory '{tenant['displayName'] if tenant else tenant_ref}'.",
            )
        _, app = found
        redirect_uri = q.get("redirect_uri", "")
        if not redirect_uri_registered(redirect_uri, app["web"]["redirectUris"]):
            return error_page(
                50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the "
                f"redirect URIs configured for the application '{app['appId']}'. Make sure the "
                "redirect URI sent in the request matches one added to your application in the "
                "Azure portal.",
            )
        if q.get("response_type") != "code":
            return redirect(
                add_query(
                    redirect_uri,
                    [
                        ("error", "unsupported_response_type"),
                        ("error_description", "cloudsim supports response_type=code only"),
                        ("state", q.get("state", "")),
                    ],
                )
            )
        users = self.dir.users(tenant["id"]) if tenant else self._all_users()
        message = ""
        if req.method == "POST":
            user = next(
                (u for u in users if u["userPrincipalName"].lower() == q.get("user", "").lower()),
                None,
            )
            if user and q.get("password") == user["_password"]:
                code = secrets.token_urlsafe(32)
                with self._lock:
                    self._codes[code] = {
                        "client_id": app["appId"],
                        "redirect_uri": redirect_uri,
                        "tid": user["_tid"],
                        "oid": user["id"],
                        "scope": q.get("scope", ""),
                        "nonce": q.get("nonce"),
                        "code_challenge": q.get("code_challenge"),
                        "method": q.get("code_challenge_method", "plain"),
                        "expires": time.time() + 600,
                    }
                params = [("code", code)]
                if "state" in q:
                    params.append(("state", q["state"]))
                return redirect(add_query(redirect_uri, params))
            message = (
                '<p class="error" role="alert">AADSTS50126: Error validating credentials due '
                "to invalid username or password.</p>"
            )
        body = f"""{message}
<p>Sign in to <strong>{escape(app["displayName"])}</strong>.</p>
<form method="post" action="{escape(req.raw_path)}">
<label for="user">Account</label>
<select id="user" name="user">{user_options(users, q.get("login_hint", ""))}</select>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>"""
        return page("Sign in", body, 401 if message else 200)

    def _all_users(self) -> list[dict]:
        return [u for t in self.dir.tenants() for u in self.dir.users(t["id"])][:500]


def router(sim: CloudSim) -> Router:
    login = Login(sim)
    sim.login_service = login
    r = Router()
    r.add("GET", "/{tenant}/v2.0/.well-known/openid-configuration", login.openid_configuration)
    r.add("GET", "/{tenant}/discovery/v2.0/keys", login.keys)
    r.add("GET", "/{tenant}/discovery/keys", login.keys)
    r.add("POST", "/{tenant}/oauth2/v2.0/token", login.token)
    r.add("GET", "/{tenant}/oauth2/v2.0/authorize", login.authorize)
    r.add("POST", "/{tenant}/oauth2/v2.0/authorize", login.authorize)
    r.add("GET", "/common/userrealm/{username}", login.user_realm)
    consent.add_routes(r, sim)
    return r
