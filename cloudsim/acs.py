"""ACS data plane for one resource: Entra ID assignments and the token exchange.

As the official spec declares it (docs/microsoft/acs-data-plane.md): only ``api-version`` in
the query (anything else is refused, so a client sending more fails here first), full entries
in every PUT and merge-patch entry, request ids on every answer. Entra bearer access to the
management routes is authorized by an Azure role on the resource, not by a token claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt

from . import ids
from .httpkit import Request, Response, Router, json_response

if TYPE_CHECKING:
    from .app import CloudSim

API_VERSION = "2025-03-02-preview"
ASSIGNMENT = "acsAssignment"
MAX_SKEW = 300
ROLE_ASSIGNMENT = "acsRoleAssignment"  # Azure RBAC on the resource, per principal object id
SEEDED = "_seeded"
PAGE_SIZE = 100
# The one query parameter the spec declares on every route; ``skipToken`` is cloudsim's own
# continuation, accepted on list only because cloudsim itself writes it into ``nextLink``.
DECLARED_QUERY = {"api-version"}
LIST_QUERY = DECLARED_QUERY | {"skipToken"}
# A built-in role with the Communication Services data actions (docs/microsoft/acs-entra.md).
DATA_ROLE = "Communication and Email Service Owner"
MAX_PATCH_ENTRIES = 1000
PRINCIPAL_TYPES = ("user", "group", "tenant")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HMAC = re.compile(r"^HMAC-SHA256\s+SignedHeaders=(?P<headers>[^&]+)&Signature=(?P<sig>.+)$")


def error(status: int, code: str, message: str, target: str | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if target:
        body["target"] = target
    return json_response(status, {"error": body})


def stamp_request_ids(response: Response, client_request_id: str | None) -> Response:
    """``x-ms-request-id`` on the answer, and the client's ``x-ms-client-request-id`` echoed."""
    response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    if client_request_id:
        response.headers["x-ms-client-request-id"] = client_request_id
    return response


def with_request_ids(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Every answer, success or error, carries ``x-ms-request-id`` and echoes the client's
    (the server stamps the answers no handler gives: injected faults, unknown routes)."""

    def wrapped(req: Request) -> Response:
        return stamp_request_ids(handler(req), req.header("x-ms-client-request-id"))

    return wrapped


def undeclared_query(req: Request, declared: set[str]) -> Response | None:
    extra = sorted(set(req.query) - declared)
    if not extra:
        return None
    return error(
        400,
        "InvalidParameter",
        f"The query parameter '{extra[0]}' is not supported by this operation.",
        extra[0],
    )


def content_hash(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


class Acs:
    def __init__(self, sim: CloudSim, resource: str) -> None:
        self.sim, self.resource = sim, resource

    @property
    def config(self) -> dict[str, str]:
        return self.sim.acs_resource(self.resource)

    # authentication ---------------------------------------------------------------------
    def verify_hmac(self, req: Request) -> str | None:
        """None when the signature is valid, else why it is not."""
        m = _HMAC.match(req.header("authorization"))
        if not m:
            return "Authorization header is not 'HMAC-SHA256 SignedHeaders=…&Signature=…'."
        signed = [h.strip().lower() for h in m["headers"].split(";")]
        for name in ("host", "x-ms-content-sha256"):
            if name not in signed:
                return f"SignedHeaders must include '{name}'."
        date_header = "x-ms-date" if "x-ms-date" in signed else "date"
        if date_header not in signed:
            return "SignedHeaders must include 'x-ms-date' (or 'date')."
        for name in signed:
            if not req.header(name):
                return f"Signed header '{name}' is missing from the request."
        try:
            sent = parsedate_to_datetime(req.header(date_header))
        except (TypeError, ValueError):
            return f"Header '{date_header}' is not an RFC 1123 date."
        if sent.tzinfo is None:
            sent = sent.replace(tzinfo=UTC)
        skew = abs((datetime.now(UTC) - sent).total_seconds())
        if skew > MAX_SKEW:
            return f"Request date is {int(skew)} s away from the server clock (max {MAX_SKEW} s)."
        if req.header("x-ms-content-sha256") != content_hash(req.body):
            return "x-ms-content-sha256 does not match the SHA-256 of the request body."
        string_to_sign = (
            f"{req.method}\n{req.raw_path}\n" + ";".join(req.header(h) for h in signed)
        ).encode()
        key = base64.b64decode(self.config["access_key"])
        expected = base64.b64encode(hmac.new(key, string_to_sign, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, m["sig"].strip().encode()):
            return (
                "Signature mismatch: the HMAC-SHA256 of METHOD, path and query, and the signed "
                "headers does not match (wrong access key, path, query, host or date)."
            )
        return None

    def verify_bearer(self, req: Request, audience: str | list[str]) -> dict[str, Any] | str:
        token = req.header("authorization")[7:].strip()
        try:
            return self.sim.signer.verify(token, audience)
        except jwt.ExpiredSignatureError:
            return "The access token has expired."
        except jwt.InvalidTokenError as exc:
            return f"The access token is invalid: {exc}"

    def role_holders(self) -> set[str]:
        """Principals with a data role on this resource.

        Seeded on first use from the resource's ``role_assignments`` in the scenario, by
        default the operator app's service principal in its home tenant (as a deployment that
        uses Entra auth grants it); the admin API grants and withholds afterwards.
        """
        store = self.sim.store
        if store.get(ROLE_ASSIGNMENT, self.resource, SEEDED) is None:
            configured = self.config.get("role_assignments")
            if configured is None:
                home = self.sim.operator_app["home_tenant_id"]
                sp = self.sim.directory.sp_by_app_id(home, self.sim.operator_app["client_id"])
                configured = [sp["id"]] if sp else []
            with store.transaction():
                for principal in configured:
                    self.grant_role(principal)
                store.put(ROLE_ASSIGNMENT, self.resource, SEEDED, {"principalId": SEEDED})
        return {
            d["principalId"]
            for d in store.list(ROLE_ASSIGNMENT, self.resource)
            if d["principalId"] != SEEDED
        }

    def grant_role(self, principal_id: str, role: str = DATA_ROLE) -> dict:
        doc = {"principalId": principal_id.lower(), "roleDefinitionName": role}
        self.sim.store.put(ROLE_ASSIGNMENT, self.resource, doc["principalId"], doc)
        return doc

    def authorize_management(
        self, req: Request, declared: set[str] = DECLARED_QUERY
    ) -> Response | None:
        if "api-version" not in req.query:
            return error(
                400, "MissingApiVersionParameter", "The api-version query parameter is required."
            )
        if req.query["api-version"] != API_VERSION:
            return error(
                400,
                "UnsupportedApiVersion",
                f"The api-version '{req.query['api-version']}' is not supported for this route; "
                f"use '{API_VERSION}'.",
            )
        undeclared = undeclared_query(req, declared)
        if undeclared:
            return undeclared
        auth = req.header("authorization")
        if auth.lower().startswith("bearer "):
            claims = self.verify_bearer(req, [ids.ACS_RESOURCE, f"{ids.ACS_RESOURCE}/"])
            if isinstance(claims, str):
                return error(401, "InvalidAuthenticationToken", claims)
            home = self.sim.operator_app["home_tenant_id"]
            if claims["tid"] != home or claims.get("oid") not in self.role_holders():
                return error(
                    403,
                    "Forbidden",
                    f"The principal '{claims.get('oid')}' has no Azure role on this resource "
                    f"that allows this action (for example '{DATA_ROLE}').",
                )
        elif not auth:
            return error(401, "Denied", "Missing Authorization header (HMAC-SHA256 or Bearer).")
        else:
            reason = self.verify_hmac(req)
            if reason:
                return error(401, "Denied", f"Denied by the resource provider. {reason}")
        wait = self.sim.rate_limits.check("acs", self.resource)
        if wait:
            resp = error(429, "TooManyRequests", "Rate limit exceeded for this resource.")
            resp.headers["Retry-After"] = str(max(1, round(wait + 0.5)))
            return resp
        return None

    # assignments ------------------------------------------------------------------------
    @staticmethod
    def validate(object_id: str, entry: Any) -> str | None:
        if not _GUID.match(object_id):
            return f"objectId '{object_id}' is not a GUID."
        if not isinstance(entry, dict):
            return "The assignment must be a JSON object."
        for field in ("tenantId", "principalType", "clientIds"):
            if field not in entry:
                return f"'{field}' is required."
        if not isinstance(entry["tenantId"], str) or not _GUID.match(entry["tenantId"]):
            return "'tenantId' must be a GUID."
        if entry["principalType"] not in PRINCIPAL_TYPES:
            return f"'principalType' must be one of {', '.join(PRINCIPAL_TYPES)}."
        client_ids = entry["clientIds"]
        if (
            not isinstance(client_ids, list)
            or not client_ids
            or not all(isinstance(c, str) and _GUID.match(c) for c in client_ids)
        ):
            return "'clientIds' must be a non-empty list of GUIDs."
        if entry["principalType"] == "tenant" and object_id.lower() != entry["tenantId"].lower():
            return "For principalType 'tenant' the objectId must equal the tenantId."
        return None

    @staticmethod
    def doc(object_id: str, entry: dict) -> dict:
        return {
            "objectId": object_id.lower(),
            "tenantId": entry["tenantId"].lower(),
            "principalType": entry["principalType"],
            "clientIds": [c.lower() for c in entry["clientIds"]],
        }

    def list(self, req: Request) -> Response:
        denied = self.authorize_management(req, LIST_QUERY)
        if denied:
            return denied
        size = PAGE_SIZE
        after = req.query.get("skipToken", "")
        docs = self.sim.store.page(ASSIGNMENT, self.resource, after, size + 1)
        body: dict[str, Any] = {"value": docs[:size]}
        if len(docs) > size:
            params = {"api-version": API_VERSION, "skipToken": docs[size - 1]["objectId"]}
            body["nextLink"] = f"{req.base_url}/access/entra/assignments?{urlencode(params)}"
        return json_response(200, body)

    def get(self, req: Request) -> Response:
        denied = self.authorize_management(req)
        if denied:
            return denied
        oid = req.params["objectId"].lower()
        doc = self.sim.store.get(ASSIGNMENT, self.resource, oid)
        if not doc:
            return error(404, "NotFound", f"No assignment for objectId '{oid}'.", "objectId")
        return json_response(200, doc)

    def put(self, req: Request) -> Response:
        denied = self.authorize_management(req)
        if denied:
            return denied
        oid = req.params["objectId"]
        try:
            entry = req.json()
        except ValueError:
            return error(400, "InvalidRequestBody", "The body is not valid JSON.")
        problem = self.validate(oid, entry)
        if problem:
            return error(400, "InvalidRequestBody", problem, "objectId")
        doc = self.doc(oid, entry)
        store = self.sim.store
        with store.transaction():
            existed = store.get(ASSIGNMENT, self.resource, doc["objectId"]) is not None
            store.put(ASSIGNMENT, self.resource, doc["objectId"], doc)
        return json_response(200 if existed else 201, doc)

    def patch(self, req: Request) -> Response:
        denied = self.authorize_management(req)
        if denied:
            return denied
        ctype = req.header("content-type").split(";")[0].strip().lower()
        if ctype != "application/merge-patch+json":
            return error(
                415, "UnsupportedMediaType", "Content-Type must be application/merge-patch+json."
            )
        try:
            changes = req.json()
        except ValueError:
            return error(400, "InvalidRequestBody", "The body is not valid JSON.")
        if not isinstance(changes, dict):
            return error(400, "InvalidRequestBody", "The body must map objectId to an assignment.")
        if len(changes) > MAX_PATCH_ENTRIES:
            return error(
                400, "InvalidRequestBody", f"At most {MAX_PATCH_ENTRIES} entries per request."
            )
        store = self.sim.store
        with store.transaction():
            # All or nothing: every entry is validated before anything is written. Each entry
            # is a full EntraAssignmentCreateOrUpdateRequest (tenantId, principalType and
            # clientIds required, as in the spec): nothing is merged from the stored one.
            deletes, puts = [], []
            for oid, change in changes.items():
                if change is None:
                    deletes.append(oid.lower())
                    continue
                problem = self.validate(oid, change)
                if problem:
                    return error(400, "InvalidRequestBody", f"{oid}: {problem}", oid)
                puts.append((oid.lower(), self.doc(oid, change)))
            store.delete_many(ASSIGNMENT, self.resource, deletes)
            store.put_many(ASSIGNMENT, self.resource, puts)
        return json_response(200, {"value": [doc for _oid, doc in puts]})

    def delete(self, req: Request) -> Response:
        denied = self.authorize_management(req)
        if denied:
            return denied
        oid = req.params["objectId"].lower()
        if not self.sim.store.delete(ASSIGNMENT, self.resource, oid):
            return error(404, "NotFound", f"No assignment for objectId '{oid}'.", "objectId")
        return Response(204)

    # token exchange ---------------------------------------------------------------------
    def exchange(self, req: Request) -> Response:
        if req.query.get("api-version") != API_VERSION:
            return error(400, "UnsupportedApiVersion", f"api-version must be '{API_VERSION}'.")
        undeclared = undeclared_query(req, DECLARED_QUERY)
        if undeclared:
            return undeclared
        if not req.header("authorization").lower().startswith("bearer "):
            return error(401, "InvalidAuthenticationToken", "A Bearer Entra ID token is required.")
        claims = self.verify_bearer(req, ids.ACS_CLIENTS_RESOURCE)
        if isinstance(claims, str):
            return error(401, "InvalidAuthenticationToken", claims)
        if "scp" not in claims or not {"VoIP", "VoIP.Join"} & set(claims["scp"].split()):
            return error(
                403,
                "InvalidScope",
                "The token carries no ACS Clients VoIP scope (a user token "
                "for https://communication.azure.com/clients/VoIP is required).",
            )
        tid, oid, appid = claims["tid"], claims["oid"], claims["appid"]
        d = self.sim.directory
        if not d.delegated_scopes_of(tid, appid, ids.ACS_CLIENTS_APP_ID):
            return error(
                403,
                "TenantNotConsented",
                f"Tenant '{tid}' has not granted admin consent to application '{appid}' for "
                "Azure Communication Services Clients.",
            )
        assignment, reason = self._find_assignment(tid, oid, appid)
        if assignment is None:
            return error(403, reason[0], reason[1])
        resource_id = self.config["resource_id"]
        expires = datetime.fromtimestamp(claims["exp"], UTC)
        acs_claims = {
            "skypeid": f"acs:{resource_id}_wf_{tid}_{oid}",
            "scp": 1792,
            "resourceId": resource_id,
            "tid": tid,
            "oid": oid,
            "aud": "https://communication.azure.com",
            "iat": int(time.time()),
            "exp": claims["exp"],
        }
        return json_response(
            200,
            {
                "identity": {"id": f"8:acs:{resource_id}_wf_{tid}_{oid}"},
                "accessToken": {
                    "token": self.sim.signer.sign(acs_claims),
                    "expiresOn": expires.strftime("%Y-%m-%dT%H:%M:%S.0000000+00:00"),
                },
            },
        )

    def _find_assignment(self, tid: str, oid: str, appid: str):
        """The assignment that lets this user in, or why none does."""
        store, d = self.sim.store, self.sim.directory
        candidates: list[tuple[dict, str]] = []
        direct = store.get(ASSIGNMENT, self.resource, oid)
        if direct and direct["principalType"] == "user" and direct["tenantId"] == tid:
            candidates.append((direct, "user"))
        acs_sp = d.sp_by_app_id(tid, ids.ACS_CLIENTS_APP_ID)
        enterprise_groups = {
            a["principalId"] for a in (d.role_assignments_to(tid, acs_sp["id"]) if acs_sp else [])
        }
        unassigned_groups = []
        for group in d.transitive_member_of(tid, oid):
            entry = store.get(ASSIGNMENT, self.resource, group["id"])
            if entry and entry["principalType"] == "group" and entry["tenantId"] == tid:
                if group["id"] in enterprise_groups:
                    candidates.append((entry, "group"))
                else:
                    unassigned_groups.append(group["displayName"])
        whole = store.get(ASSIGNMENT, self.resource, tid)
        if whole and whole["principalType"] == "tenant":
            candidates.append((whole, "tenant"))
        for entry, _kind in candidates:
            if appid in entry["clientIds"]:
                return entry, None
        if candidates:
            return None, (
                "ClientNotAllowed",
                f"User '{oid}' is assigned ({', '.join(k for _, k in candidates)}), but "
                f"application '{appid}' is not in the assignment's clientIds.",
            )
        if unassigned_groups:
            return None, (
                "GroupNotAssignedToApplication",
                f"User '{oid}' is in assigned group(s) {', '.join(unassigned_groups)}, but those "
                "groups are not assigned to the Azure Communication Services Clients enterprise "
                f"application in tenant '{tid}'.",
            )
        return None, (
            "UserNotAssigned",
            f"User '{oid}' of tenant '{tid}' is not assigned to this resource directly, through "
            "a group, or through a tenant-wide assignment.",
        )


def router(sim: CloudSim, resource: str) -> Router:
    a = Acs(sim, resource)
    r = Router()
    r.add("GET", "/access/entra/assignments", with_request_ids(a.list))
    r.add("PATCH", "/access/entra/assignments", with_request_ids(a.patch))
    r.add("GET", "/access/entra/assignments/{objectId}", with_request_ids(a.get))
    r.add("PUT", "/access/entra/assignments/{objectId}", with_request_ids(a.put))
    r.add("DELETE", "/access/entra/assignments/{objectId}", with_request_ids(a.delete))
    r.add("POST", "/access/entra/:exchangeAccessToken", with_request_ids(a.exchange))
    return r
