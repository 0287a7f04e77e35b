"""The Entra directories: tenants, users, groups, service principals, consent.

Documents are stored in Microsoft Graph's JSON shape; fields starting with "_" are
cloudsim's private bookkeeping and never leave through Graph.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from . import ids
from .store import Doc, Store

TENANT = "tenant"
USER = "user"
GROUP = "group"
SP = "servicePrincipal"
APP = "application"
ROLE_ASSIGNMENT = "appRoleAssignment"
GRANT = "oauth2PermissionGrant"

# Entra ID P1 and P2 as subscribedSkus list them: the SKU and the service plans it carries.
# Group assignment to enterprise applications needs the AAD_PREMIUM plan (P1; P2 includes it).
# Ids from Microsoft's "Product names and service plan identifiers for licensing".
AAD_PREMIUM_PLAN = "41781fb2-bc02-4b7c-bd55-b576c07bb09d"
AAD_PREMIUM_P2_PLAN = "eec0eb4f-6444-4f95-aba0-50c24d67f998"
ENTRA_SKUS: dict[str, dict[str, Any]] = {
    "P1": {
        "skuId": "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        "skuPartNumber": "AAD_PREMIUM",
        "plans": [("AAD_PREMIUM", AAD_PREMIUM_PLAN)],
    },
    "P2": {
        "skuId": "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        "skuPartNumber": "AAD_PREMIUM_P2",
        "plans": [("AAD_PREMIUM", AAD_PREMIUM_PLAN), ("AAD_PREMIUM_P2", AAD_PREMIUM_P2_PLAN)],
    },
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _graph_sp_template() -> Doc:
    return {
        "appId": ids.GRAPH_APP_ID,
        "displayName": "Microsoft Graph",
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "appRoles": [
            {
                "id": role_id,
                "value": name,
                "displayName": name,
                "allowedMemberTypes": ["Application"],
                "isEnabled": True,
            }
            for name, role_id in sorted(ids.GRAPH_APP_ROLES.items())
        ],
        "oauth2PermissionScopes": [
            {"id": sid, "value": name, "type": "User", "isEnabled": True}
            for name, sid in sorted(ids.GRAPH_SCOPES.items())
        ],
    }


def _acs_clients_sp_template() -> Doc:
    return {
        "appId": ids.ACS_CLIENTS_APP_ID,
        "displayName": "Azure Communication Services Clients",
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "appRoles": [],
        "oauth2PermissionScopes": [
            {"id": sid, "value": name, "type": "User", "isEnabled": True}
            for name, sid in sorted(ids.ACS_CLIENTS_SCOPES.items())
        ],
    }


class DirectoryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Directory:
    def __init__(self, store: Store) -> None:
        self.store = store

    # tenants ----------------------------------------------------------------------------
    def tenants(self) -> list[Doc]:
        return self.store.list(TENANT, "")

    def tenant(self, ref: str) -> Doc | None:
        """A tenant by id or by one of its verified domains (case-insensitive)."""
        ref = ref.lower()
        doc = self.store.get(TENANT, "", ref)
        if doc:
            return doc
        for t in self.tenants():
            if any(d["name"].lower() == ref for d in t["verifiedDomains"]):
                return t
        return None

    def tenant_of_upn(self, upn: str) -> Doc | None:
        return self.tenant(upn.rpartition("@")[2]) if "@" in upn else None

    # users and groups -------------------------------------------------------------------
    def users(self, tid: str) -> list[Doc]:
        return self.store.list(USER, tid)

    def user(self, tid: str, ref: str) -> Doc | None:
        doc = self.store.get(USER, tid, ref.lower())
        if doc or "@" not in ref:
            return doc
        return next(
            (u for u in self.users(tid) if u["userPrincipalName"].lower() == ref.lower()), None
        )

    def groups(self, tid: str) -> list[Doc]:
        return self.store.list(GROUP, tid)

    def group(self, tid: str, gid: str) -> Doc | None:
        return self.store.get(GROUP, tid, gid.lower())

    def member_of(self, tid: str, object_id: str) -> list[Doc]:
        return [g for g in self.groups(tid) if object_id in g["_members"]]

    def transitive_member_of(self, tid: str, object_id: str) -> list[Doc]:
        groups = self.groups(tid)
        found: dict[str, Doc] = {}
        frontier = {object_id}
        while frontier:
            nxt = set()
            for g in groups:
                if g["id"] not in found and frontier & set(g["_members"]):
                    found[g["id"]] = g
                    nxt.add(g["id"])
            frontier = nxt
        return list(found.values())

    def directory_object(self, tid: str, oid: str) -> Doc | None:
        doc = self.user(tid, oid)
        if doc:
            return {"@odata.type": "#microsoft.graph.user", **doc}
        doc = self.group(tid, oid) or self.store.get(SP, tid, oid)
        if doc and "appId" in doc:
            return {"@odata.type": "#microsoft.graph.servicePrincipal", **doc}
        if doc:
            return {"@odata.type": "#microsoft.graph.group", **doc}
        return None

    # applications and service principals ------------------------------------------------
    def application_by_app_id(self, app_id: str) -> tuple[str, Doc] | None:
        for scope in self.store.scopes(APP):
            for app in self.store.list(APP, scope):
                if app["appId"].lower() == app_id.lower():
                    return scope, app
        return None

    @staticmethod
    def secret_credentials(app: Doc) -> list[Doc]:
        """The passwordCredentials of the secret the app signs in with (Graph shows its first
        three characters as ``hint``)."""
        hint = app.get("_secret", "")[:3]
        return [c for c in app.get("passwordCredentials", []) if c.get("hint") == hint]

    def secret_expired(self, app: Doc) -> bool:
        """Entra refuses an expired secret (AADSTS7000222; docs/microsoft/tenant-lifecycle.md)."""
        ends = [c.get("endDateTime") for c in self.secret_credentials(app)]
        return bool(ends) and all(e is not None and e <= now_iso() for e in ends)

    def set_secret_end(self, home: str, app: Doc, days: int) -> Doc:
        """Move the end date of the app's secret ``days`` from now (negative: expired)."""
        end = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self.store.transaction():
            creds = self.secret_credentials(app)
            if not creds:
                creds = [
                    {
                        "customKeyIdentifier": None,
                        "displayName": "cloudsim",
                        "hint": app["_secret"][:3],
                        "keyId": str(uuid.uuid4()),
                        "secretText": None,
                        "startDateTime": now_iso(),
                    }
                ]
                app["passwordCredentials"] = [*app.get("passwordCredentials", []), *creds]
            for c in creds:
                c["endDateTime"] = end
            self.store.put(APP, home, app["id"], app)
        return {"passwordCredentials": [public(c) for c in creds]}

    def service_principals(self, tid: str) -> list[Doc]:
        return self.store.list(SP, tid)

    def sp_by_app_id(self, tid: str, app_id: str) -> Doc | None:
        return next(
            (s for s in self.service_principals(tid) if s["appId"].lower() == app_id.lower()),
            None,
        )

    def create_service_principal(self, tid: str, app_id: str, sp_id: str | None = None) -> Doc:
        """Instantiate an app in a tenant, as `POST /servicePrincipals {"appId"}` does."""
        if self.sp_by_app_id(tid, app_id):
            raise DirectoryError(
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property appId already exists.",
            )
        if app_id.lower() == ids.GRAPH_APP_ID:
            template = _graph_sp_template()
        elif app_id.lower() == ids.ACS_CLIENTS_APP_ID:
            template = _acs_clients_sp_template()
        else:
            found = self.application_by_app_id(app_id)
            if not found:
                raise DirectoryError(
                    "Request_BadRequest",
                    f"The appId '{app_id}' of the service principal does not reference a "
                    "valid application object.",
                )
            home, app = found
            if home != tid and app["signInAudience"] == "AzureADMyOrg":
                raise DirectoryError(
                    "Request_BadRequest",
                    f"The application '{app_id}' is single-tenant and cannot be instantiated "
                    "in another tenant.",
                )
            template = {
                "appId": app["appId"],
                "displayName": app["displayName"],
                "appOwnerOrganizationId": home,
                "appRoles": [],
                "oauth2PermissionScopes": [],
                "replyUrls": list(app["web"]["redirectUris"]),
            }
        doc = {
            "id": sp_id or str(uuid.uuid4()),
            "accountEnabled": True,
            "servicePrincipalType": "Application",
            "appRoleAssignmentRequired": False,
            "tags": [],
            "createdDateTime": now_iso(),
            **template,
        }
        self.store.put(SP, tid, doc["id"], doc)
        return doc

    def delete_service_principal(self, tid: str, sp_id: str) -> bool:
        """Delete a service principal with its grants and app role assignments."""
        with self.store.transaction():
            for g in self.grants(tid):
                if sp_id in (g["clientId"], g["resourceId"]):
                    self.store.delete(GRANT, tid, g["id"])
            for a in self.store.list(ROLE_ASSIGNMENT, tid):
                if sp_id in (a["principalId"], a["resourceId"]):
                    self.store.delete(ROLE_ASSIGNMENT, tid, a["id"])
            return self.store.delete(SP, tid, sp_id)

    # grants and role assignments --------------------------------------------------------
    def grants(self, tid: str) -> list[Doc]:
        return self.store.list(GRANT, tid)

    def role_assignments_to(self, tid: str, resource_sp_id: str) -> list[Doc]:
        return [
            a for a in self.store.list(ROLE_ASSIGNMENT, tid) if a["resourceId"] == resource_sp_id
        ]

    def assign_app_role(
        self, tid: str, *, principal: Doc, principal_type: str, resource: Doc, app_role_id: str
    ) -> Doc:
        for a in self.role_assignments_to(tid, resource["id"]):
            if a["principalId"] == principal["id"] and a["appRoleId"] == app_role_id:
                return a
        doc = {
            "id": str(uuid.uuid4()),
            "appRoleId": app_role_id,
            "createdDateTime": now_iso(),
            "deletedDateTime": None,
            "principalDisplayName": principal["displayName"],
            "principalId": principal["id"],
            "principalType": principal_type,
            "resourceDisplayName": resource["displayName"],
            "resourceId": resource["id"],
        }
        self.store.put(ROLE_ASSIGNMENT, tid, doc["id"], doc)
        return doc

    def unassign_principal(self, tid: str, resource_sp_id: str, principal_id: str) -> int:
        removed = 0
        for a in self.role_assignments_to(tid, resource_sp_id):
            if a["principalId"] == principal_id:
                removed += self.store.delete(ROLE_ASSIGNMENT, tid, a["id"])
        return removed

    def add_grant(self, tid: str, *, client: Doc, resource: Doc, scopes: list[str]) -> Doc:
        for g in self.grants(tid):
            if g["clientId"] == client["id"] and g["resourceId"] == resource["id"]:
                merged = sorted(set(g["scope"].split()) | set(scopes), key=scopes_order)
                g["scope"] = " ".join(merged)
                self.store.put(GRANT, tid, g["id"], g)
                return g
        doc = {
            "id": str(uuid.uuid4()),
            "clientId": client["id"],
            "consentType": "AllPrincipals",
            "principalId": None,
            "resourceId": resource["id"],
            "scope": " ".join(scopes),
        }
        self.store.put(GRANT, tid, doc["id"], doc)
        return doc

    def app_roles_of(self, tid: str, app_id: str, resource_app_id: str) -> list[str]:
        """Names of the app roles of `resource_app_id` granted to `app_id` in a tenant."""
        client = self.sp_by_app_id(tid, app_id)
        resource = self.sp_by_app_id(tid, resource_app_id)
        if not client or not resource:
            return []
        by_id = {r["id"]: r["value"] for r in resource["appRoles"]}
        return sorted(
            by_id[a["appRoleId"]]
            for a in self.role_assignments_to(tid, resource["id"])
            if a["principalId"] == client["id"] and a["appRoleId"] in by_id
        )

    def delegated_scopes_of(self, tid: str, app_id: str, resource_app_id: str) -> list[str]:
        """Scopes of an AllPrincipals grant from `app_id` to `resource_app_id`."""
        client = self.sp_by_app_id(tid, app_id)
        resource = self.sp_by_app_id(tid, resource_app_id)
        if not client or not resource:
            return []
        for g in self.grants(tid):
            if (g["clientId"], g["resourceId"], g["consentType"]) == (
                client["id"],
                resource["id"],
                "AllPrincipals",
            ):
                return g["scope"].split()
        return []

    # consent ----------------------------------------------------------------------------
    def grant_admin_consent(
        self,
        tid: str,
        app: Doc,
        *,
        sp_id: str | None = None,
        extra_graph_roles: tuple[str, ...] = (),
        include_acs: bool = True,
        graph_app_roles: list[str] | None = None,
        graph_scopes: list[str] | None = None,
        acs_scopes: list[str] | None = None,
    ) -> Doc:
        """What approving admin consent does: the app's SP, app roles and grants.

        By default the permissions of the app registration (v1 and `.default`); a v2 request
        naming scopes passes only those (`graph_app_roles`, `graph_scopes`, `acs_scopes`).
        Raises DirectoryError("AADSTS650052") when a resource the app needs has no
        service principal in the tenant (nothing is created then).
        """
        roles = app["_graph_app_roles"] if graph_app_roles is None else graph_app_roles
        delegated = app["_graph_scopes"] if graph_scopes is None else graph_scopes
        acs_wanted = app["_acs_scopes"] if acs_scopes is None else acs_scopes
        acs_wanted = acs_wanted if include_acs else []
        with self.store.transaction():
            graph = self.sp_by_app_id(tid, ids.GRAPH_APP_ID)
            acs = self.sp_by_app_id(tid, ids.ACS_CLIENTS_APP_ID)
            if acs_wanted and not acs:
                raise DirectoryError("AADSTS650052", "ACS Clients service principal missing")
            sp = self.sp_by_app_id(tid, app["appId"]) or self.create_service_principal(
                tid, app["appId"], sp_id
            )
            role_ids = {r["value"]: r["id"] for r in graph["appRoles"]}
            for name in (*roles, *extra_graph_roles):
                self.assign_app_role(
                    tid,
                    principal=sp,
                    principal_type="ServicePrincipal",
                    resource=graph,
                    app_role_id=role_ids[name],
                )
            if delegated:
                self.add_grant(tid, client=sp, resource=graph, scopes=list(delegated))
            if acs_wanted:
                self.add_grant(tid, client=sp, resource=acs, scopes=list(acs_wanted))
            return sp

    def set_sp_enabled(self, tid: str, app_id: str, enabled: bool) -> bool:
        """Enterprise applications > the app > Properties > Enabled for users to sign in."""
        with self.store.transaction():
            sp = self.sp_by_app_id(tid, app_id)
            if not sp:
                return False
            self.store.put(SP, tid, sp["id"], {**sp, "accountEnabled": enabled})
            return True

    def revoke_consent(self, tid: str, app_id: str) -> bool:
        sp = self.sp_by_app_id(tid, app_id)
        return bool(sp) and self.delete_service_principal(tid, sp["id"])

    def grant_between(self, tid: str, client_app_id: str, resource_app_id: str) -> Doc | None:
        """The AllPrincipals grant from one app's service principal to another's, if any."""
        client = self.sp_by_app_id(tid, client_app_id)
        resource = self.sp_by_app_id(tid, resource_app_id)
        if not client or not resource:
            return None
        return next(
            (
                g
                for g in self.grants(tid)
                if (g["clientId"], g["resourceId"], g["consentType"])
                == (client["id"], resource["id"], "AllPrincipals")
            ),
            None,
        )

    def delete_grant(self, tid: str, grant_id: str) -> bool:
        """``DELETE /oauth2PermissionGrants/{id}``: the admin consent to that API is gone."""
        return self.store.delete(GRANT, tid, grant_id)

    def set_grant_scope(self, tid: str, grant_id: str, scope: str) -> Doc | None:
        """``PATCH /oauth2PermissionGrants/{id} {"scope"}``: the grant keeps only these scopes."""
        with self.store.transaction():
            grant = self.store.get(GRANT, tid, grant_id)
            if not grant:
                return None
            grant = {**grant, "scope": " ".join(scope.split())}
            self.store.put(GRANT, tid, grant_id, grant)
            return grant

    def delete_group(self, tid: str, gid: str) -> bool:
        """Delete a group; its app role assignments go with it, as in Entra."""
        with self.store.transaction():
            for a in self.store.list(ROLE_ASSIGNMENT, tid):
                if a["principalId"] == gid.lower():
                    self.store.delete(ROLE_ASSIGNMENT, tid, a["id"])
            return self.store.delete(GROUP, tid, gid.lower())

    # licences ---------------------------------------------------------------------------
    def set_plan(self, tid: str, plan: str, capability_status: str = "Enabled") -> Doc | None:
        """The tenant's Entra ID plan (Free, P1, P2) and its subscription's capabilityStatus."""
        with self.store.transaction():
            tenant = self.store.get(TENANT, "", tid.lower())
            if not tenant:
                return None
            tenant = {**tenant, "_plan": plan, "_plan_status": capability_status}
            self.store.put(TENANT, "", tenant["id"], tenant)
            return tenant

    def subscribed_skus(self, tid: str) -> list[Doc]:
        """``GET /subscribedSkus``: the tenant's Entra ID P1/P2 subscription, if any, in Graph's
        subscribedSku shape (docs/microsoft/tenant-lifecycle.md)."""
        tenant = self.tenant(tid)
        sku = ENTRA_SKUS.get((tenant or {}).get("_plan", "Free"))
        if tenant is None or sku is None:
            return []
        status = tenant.get("_plan_status", "Enabled")
        plans = [
            {
                "servicePlanId": plan_id,
                "servicePlanName": name,
                "provisioningStatus": "Success" if status in ("Enabled", "Warning") else "Disabled",
                "appliesTo": "User",
            }
            for name, plan_id in sku["plans"]
        ]
        return [
            {
                "id": f"{tenant['id']}_{sku['skuId']}",
                "accountId": tenant["id"],
                "accountName": tenant["displayName"],
                "appliesTo": "User",
                "capabilityStatus": status,
                "consumedUnits": len(self.users(tenant["id"])),
                "prepaidUnits": {
                    "enabled": 25 if status == "Enabled" else 0,
                    "suspended": 25 if status == "Suspended" else 0,
                    "warning": 25 if status == "Warning" else 0,
                    "lockedOut": 25 if status == "LockedOut" else 0,
                },
                "servicePlans": plans,
                "skuId": sku["skuId"],
                "skuPartNumber": sku["skuPartNumber"],
            }
        ]


def scopes_order(scope: str) -> tuple[int, str]:
    order = ["VoIP", "VoIP.Join", "User.Read"]
    return (order.index(scope) if scope in order else len(order), scope)


def public(doc: Doc) -> dict[str, Any]:
    """The Graph view of a stored document (private fields dropped)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
