"""Microsoft Graph v1.0 subset, backed by the directory, with Graph's auth and OData rules."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt

from . import ids
from .directory import DirectoryError, public
from .httpkit import Request, Response, Router, json_response
from .odata import FilterError, parse_filter
from .server import graph_error

if TYPE_CHECKING:
    from .app import CloudSim

DIR_READ = ("Directory.Read.All", "Directory.ReadWrite.All")
APP_READ = ("Application.Read.All", "Application.ReadWrite.All", *DIR_READ)
APP_WRITE = ("Application.ReadWrite.All",)
GRANT_READ = (
    "DelegatedPermissionGrant.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    *DIR_READ,
)
GROUP_READ = ("Group.Read.All", "GroupMember.Read.All", "Group.ReadWrite.All", *DIR_READ)
USER_READ = ("User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", *DIR_READ)
ORG_READ = ("Organization.Read.All", "Organization.ReadWrite.All", *DIR_READ)
ROLE_ASSIGN = ("AppRoleAssignment.ReadWrite.All", "Application.ReadWrite.All")

FILTERABLE = {
    "servicePrincipals": {"id", "appId", "displayName", "servicePrincipalType", "accountEnabled"},
    "users": {
        "id",
        "displayName",
        "userPrincipalName",
        "mail",
        "givenName",
        "surname",
        "accountEnabled",
        "mailNickname",
    },
    "groups": {"id", "displayName", "mailNickname", "securityEnabled", "mailEnabled"},
    "oauth2PermissionGrants": {"id", "clientId", "resourceId", "consentType", "principalId"},
    "applications": {"id", "appId", "displayName", "signInAudience"},
    "appRoleAssignedTo": {"principalId", "principalType", "resourceId", "appRoleId"},
    "directoryObjects": {"id", "displayName"},
    "organization": {"id"},
}
DEFAULT_PAGE, MAX_PAGE = 100, 999


class Graph:
    def __init__(self, sim: CloudSim) -> None:
        self.sim = sim

    @property
    def dir(self):
        return self.sim.directory

    # auth -------------------------------------------------------------------------------
    def authenticate(self, req: Request) -> dict[str, Any] | Response:
        auth = req.header("authorization")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token is empty.", req.headers
            )
        try:
            claims = self.sim.signer.verify(
                auth[7:].strip(), [ids.GRAPH_RESOURCE, ids.GRAPH_APP_ID]
            )
        except jwt.ExpiredSignatureError:
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
                req.headers,
            )
        except jwt.InvalidTokenError as exc:
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                f"Access token validation failure: {exc}",
                req.headers,
            )
        if not self.dir.tenant(claims["tid"]):
            return graph_error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid tenant.",
                req.headers,
            )
        return claims

    def guarded(self, needed: tuple[str, ...], handler, *, delegated_ok=("User.Read",)):
        """Wrap a handler: a valid token whose roles (app) or scp (delegated) allow the call."""

        def run(req: Request) -> Response:
            claims = self.authenticate(req)
            if isinstance(claims, Response):
                return claims
            if "scp" in claims:
                granted = set(claims["scp"].split())
                allowed = set(needed) | set(delegated_ok or ())
            else:
                granted = set(claims.get("roles", []))
                allowed = set(needed)
            if needed and not granted & allowed:
                return graph_error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                    req.headers,
                )
            wait = self.sim.rate_limits.check("graph", claims["tid"])
            if wait:
                resp = graph_error(
                    429,
                    "TooManyRequests",
                    "Too many requests are being sent for this tenant. Retry after the delay.",
                    req.headers,
                )
                resp.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
                return resp
            req.params["_tid"] = claims["tid"]
            req.claims = claims  # type: ignore[attr-defined]
            return handler(req)

        return run

    # OData ------------------------------------------------------------------------------
    def collection(self, req: Request, name: str, docs: list[dict]) -> Response:
        q = req.query
        try:
            if q.get("$filter"):
                predicate = parse_filter(q["$filter"], FILTERABLE.get(name, set()))
                docs = [d for d in docs if predicate(d)]
            top = int(q.get("$top") or DEFAULT_PAGE)
            skip = (
                int(base64.urlsafe_b64decode(q["$skiptoken"]).decode())
                if q.get("$skiptoken")
                else 0
            )
        except FilterError as exc:
            return graph_error(400, "Request_UnsupportedQuery", str(exc), req.headers)
        except ValueError:
            return graph_error(400, "BadRequest", "Invalid $top or $skiptoken value.", req.headers)
        if not 1 <= top <= MAX_PAGE:
            return graph_error(
                400,
                "Request_BadRequest",
                f"Invalid page size specified: '{top}'. Must be between "
                f"1 and {MAX_PAGE} inclusive.",
                req.headers,
            )
        page_docs = docs[skip : skip + top]
        select = [s.strip() for s in q.get("$select", "").split(",") if s.strip()]
        body: dict[str, Any] = {"@odata.context": self.context(req, name, select)}
        if "$count" in q and q["$count"].lower() == "true":
            body["@odata.count"] = len(docs)
        if skip + top < len(docs):
            params = {k: v for k, v in q.items() if k != "$skiptoken"}
            params["$skiptoken"] = base64.urlsafe_b64encode(str(skip + top).encode()).decode()
            body["@odata.nextLink"] = f"{req.base_url}{req.path}?{urlencode(params)}"
        body["value"] = [self.shape(d, select) for d in page_docs]
        return json_response(200, body)

    def context(self, req: Request, name: str, select: list[str]) -> str:
        sel = f"({','.join(select)})" if select else ""
        return f"{req.base_url}/v1.0/$metadata#{name}{sel}"

    @staticmethod
    def shape(doc: dict, select: list[str]) -> dict:
        out = public(doc)
        if select:
            out = {k: out.get(k) for k in select if k in out or not k.startswith("@")} | {
                k: v for k, v in out.items() if k == "@odata.type"
            }
        return out

    def item(self, req: Request, name: str, doc: dict | None, oid: str) -> Response:
        if doc is None:
            return self.not_found(req, oid)
        select = [s.strip() for s in req.query.get("$select", "").split(",") if s.strip()]
        entity = "/$entity"
        return json_response(
            200,
            {"@odata.context": self.context(req, name, select) + entity, **self.shape(doc, select)},
        )

    def not_found(self, req: Request, oid: str) -> Response:
        return graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{oid}' does not exist or one of its queried reference-property objects "
            "are not present.",
            req.headers,
        )

    # handlers ---------------------------------------------------------------------------
    def me(self, req: Request) -> Response:
        claims = req.claims  # type: ignore[attr-defined]
        if "scp" not in claims:
            return graph_error(
                400,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
                req.headers,
            )
        return self.item(req, "users", self.dir.user(claims["tid"], claims["oid"]), claims["oid"])

    def organization(self, req: Request) -> Response:
        return self.collection(req, "organization", [self.dir.tenant(req.params["_tid"])])

    def service_principals(self, req: Request) -> Response:
        return self.collection(
            req, "servicePrincipals", self.dir.service_principals(req.params["_tid"])
        )

    def service_principal(self, req: Request) -> Response:
        tid, sid = req.params["_tid"], req.params["id"]
        return self.item(
            req, "servicePrincipals", self.sim.store.get("servicePrincipal", tid, sid), sid
        )

    def create_service_principal(self, req: Request) -> Response:
        try:
            body = req.json()
            app_id = body["appId"]
        except (ValueError, KeyError, TypeError):
            return graph_error(
                400, "Request_BadRequest", "A value is required for property 'appId'.", req.headers
            )
        try:
            sp = self.dir.create_service_principal(req.params["_tid"], app_id)
        except DirectoryError as exc:
            status = 409 if exc.code == "Request_MultipleObjectsWithSameKeyValue" else 400
            return graph_error(status, exc.code, exc.message, req.headers)
        return json_response(
            201,
            {
                "@odata.context": f"{req.base_url}/v1.0/$metadata#servicePrincipals/$entity",
                **public(sp),
            },
        )

    def app_role_assigned_to(self, req: Request) -> Response:
        tid, sid = req.params["_tid"], req.params["id"]
        if not self.sim.store.get("servicePrincipal", tid, sid):
            return self.not_found(req, sid)
        docs = self.dir.role_assignments_to(tid, sid)
        return self.collection(req, "appRoleAssignedTo", docs)

    def assign_app_role(self, req: Request) -> Response:
        tid, sid = req.params["_tid"], req.params["id"]
        resource = self.sim.store.get("servicePrincipal", tid, sid)
        if not resource:
            return self.not_found(req, sid)
        try:
            body = req.json()
            principal_id = body["principalId"]
            role_id = body.get("appRoleId", "00000000-0000-0000-0000-000000000000")
        except (ValueError, KeyError, TypeError):
            return graph_error(400, "Request_BadRequest", "principalId is required.", req.headers)
        principal = self.dir.directory_object(tid, principal_id)
        if not principal:
            return self.not_found(req, principal_id)
        kind = principal["@odata.type"].rsplit(".", 1)[1]
        ptype = {"user": "User", "group": "Group"}.get(kind, "ServicePrincipal")
        doc = self.dir.assign_app_role(
            tid, principal=principal, principal_type=ptype, resource=resource, app_role_id=role_id
        )
        return json_response(201, doc)

    def grants(self, req: Request) -> Response:
        return self.collection(req, "oauth2PermissionGrants", self.dir.grants(req.params["_tid"]))

    def groups(self, req: Request) -> Response:
        return self.collection(req, "groups", self.dir.groups(req.params["_tid"]))

    def group(self, req: Request) -> Response:
        gid = req.params["id"]
        return self.item(req, "groups", self.dir.group(req.params["_tid"], gid), gid)

    def group_members(self, req: Request) -> Response:
        tid, gid = req.params["_tid"], req.params["id"]
        group = self.dir.group(tid, gid)
        if not group:
            return self.not_found(req, gid)
        members = [self.dir.directory_object(tid, m) for m in group["_members"]]
        return self.collection(req, "directoryObjects", [m for m in members if m])

    def users(self, req: Request) -> Response:
        return self.collection(req, "users", self.dir.users(req.params["_tid"]))

    def user(self, req: Request) -> Response:
        uid = req.params["id"]
        return self.item(req, "users", self.dir.user(req.params["_tid"], uid), uid)

    def _member_of(self, req: Request, transitive: bool) -> Response:
        tid, uid = req.params["_tid"], req.params["id"]
        user = self.dir.user(tid, uid)
        if not user:
            return self.not_found(req, uid)
        fn = self.dir.transitive_member_of if transitive else self.dir.member_of
        groups = [{"@odata.type": "#microsoft.graph.group", **g} for g in fn(tid, user["id"])]
        return self.collection(req, "directoryObjects", sorted(groups, key=lambda g: g["id"]))

    def member_of(self, req: Request) -> Response:
        return self._member_of(req, transitive=False)

    def transitive_member_of(self, req: Request) -> Response:
        return self._member_of(req, transitive=True)

    def subscribed_skus(self, req: Request) -> Response:
        return self.collection(req, "subscribedSkus", self.dir.subscribed_skus(req.params["_tid"]))

    def applications(self, req: Request) -> Response:
        return self.collection(
            req, "applications", self.sim.store.list("application", req.params["_tid"])
        )


def router(sim: CloudSim) -> Router:
    g = Graph(sim)
    sim.graph_service = g
    r = Router()
    v = "/v1.0"
    r.add("GET", f"{v}/me", g.guarded((), g.me))
    r.add("GET", f"{v}/organization", g.guarded(ORG_READ, g.organization))
    r.add(
        "GET", f"{v}/servicePrincipals", g.guarded(APP_READ, g.service_principals, delegated_ok=())
    )
    r.add(
        "POST",
        f"{v}/servicePrincipals",
        g.guarded(APP_WRITE, g.create_service_principal, delegated_ok=()),
    )
    r.add(
        "GET",
        f"{v}/servicePrincipals/{{id}}",
        g.guarded(APP_READ, g.service_principal, delegated_ok=()),
    )
    r.add(
        "GET",
        f"{v}/servicePrincipals/{{id}}/appRoleAssignedTo",
        g.guarded(APP_READ, g.app_role_assigned_to, delegated_ok=()),
    )
    r.add(
        "POST",
        f"{v}/servicePrincipals/{{id}}/appRoleAssignedTo",
        g.guarded(ROLE_ASSIGN, g.assign_app_role, delegated_ok=()),
    )
    r.add("GET", f"{v}/oauth2PermissionGrants", g.guarded(GRANT_READ, g.grants, delegated_ok=()))
    r.add("GET", f"{v}/groups", g.guarded(GROUP_READ, g.groups, delegated_ok=()))
    r.add("GET", f"{v}/groups/{{id}}", g.guarded(GROUP_READ, g.group, delegated_ok=()))
    r.add(
        "GET", f"{v}/groups/{{id}}/members", g.guarded(GROUP_READ, g.group_members, delegated_ok=())
    )
    r.add("GET", f"{v}/users", g.guarded(USER_READ, g.users, delegated_ok=()))
    r.add("GET", f"{v}/users/{{id}}", g.guarded(USER_READ, g.user, delegated_ok=()))
    r.add("GET", f"{v}/users/{{id}}/memberOf", g.guarded(GROUP_READ, g.member_of, delegated_ok=()))
    r.add(
        "GET",
        f"{v}/users/{{id}}/transitiveMemberOf",
        g.guarded(GROUP_READ, g.transitive_member_of, delegated_ok=()),
    )
    # subscribedSkus: Organization.Read.All is the least privileged application permission.
    r.add("GET", f"{v}/subscribedSkus", g.guarded(ORG_READ, g.subscribed_skus, delegated_ok=()))
    r.add("GET", f"{v}/applications", g.guarded(APP_READ, g.applications, delegated_ok=()))
    return r
