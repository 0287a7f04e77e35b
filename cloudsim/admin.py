"""The admin API (JSON, on its own listener): state, consent shortcuts, faults, stats."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ids
from .acs import ASSIGNMENT, ROLE_ASSIGNMENT, Acs
from .faults import FaultRule
from .httpkit import Request, Response, Router, json_response
from .seed import seed_big_tenant

if TYPE_CHECKING:
    from .app import CloudSim


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": {"code": "BadRequest", "message": message}})


def router(sim: CloudSim) -> Router:
    d = sim.directory
    r = Router()

    def body(req: Request) -> dict:
        data = req.json() if req.body else {}
        return data if isinstance(data, dict) else {}

    def tenant_or_404(req: Request):
        t = d.tenant(req.params["tid"])
        if not t:
            return None, _error(404, f"unknown tenant {req.params['tid']}")
        return t, None

    def health(req: Request) -> Response:
        return json_response(200, {"status": "ok", "scenario": sim.scenario_name})

    def endpoints(req: Request) -> Response:
        return json_response(200, sim.endpoints())

    def reset(req: Request) -> Response:
        sim.reset(body(req).get("scenario"))
        return json_response(200, {"reset": True, "scenario": sim.scenario_name})

    def big(req: Request) -> Response:
        if not d.tenant(ids.TAILSPIN_TENANT_ID):
            seed_big_tenant(sim.store)
        return json_response(200, {"tenant": ids.TAILSPIN_TENANT_ID})

    def tenants(req: Request) -> Response:
        return json_response(
            200, {"value": [{"id": t["id"], "displayName": t["displayName"]} for t in d.tenants()]}
        )

    def consent(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        _, app = d.application_by_app_id(sim.operator_app["client_id"])
        try:
            sp = d.grant_admin_consent(t["id"], app)
        except Exception as exc:
            return _error(409, f"consent failed: {exc}")
        return json_response(200, {"servicePrincipalId": sp["id"]})

    def revoke(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        return json_response(
            200, {"revoked": d.revoke_consent(t["id"], sim.operator_app["client_id"])}
        )

    def consent_enabled(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        enabled = body(req).get("accountEnabled")
        if not isinstance(enabled, bool):
            return _error(400, "accountEnabled must be true or false")
        if not d.set_sp_enabled(t["id"], sim.operator_app["client_id"], enabled):
            return _error(404, "the operator app has no service principal in this tenant")
        return json_response(200, {"accountEnabled": enabled})

    def acs_sp_create(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        sp = d.sp_by_app_id(t["id"], ids.ACS_CLIENTS_APP_ID) or d.create_service_principal(
            t["id"], ids.ACS_CLIENTS_APP_ID
        )
        return json_response(200, {"id": sp["id"]})

    def acs_sp_delete(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        sp = d.sp_by_app_id(t["id"], ids.ACS_CLIENTS_APP_ID)
        return json_response(
            200, {"deleted": bool(sp) and d.delete_service_principal(t["id"], sp["id"])}
        )

    def acs_sp_assign(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        sp = d.sp_by_app_id(t["id"], ids.ACS_CLIENTS_APP_ID)
        group = d.group(t["id"], str(body(req).get("groupId", "")))
        if not sp or not group:
            return _error(404, "ACS Clients service principal or group not found")
        doc = d.assign_app_role(
            t["id"],
            principal=group,
            principal_type="Group",
            resource=sp,
            app_role_id="00000000-0000-0000-0000-000000000000",
        )
        return json_response(200, doc)

    def acs_sp_unassign(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        sp = d.sp_by_app_id(t["id"], ids.ACS_CLIENTS_APP_ID)
        removed = d.unassign_principal(t["id"], sp["id"], req.params["gid"]) if sp else 0
        return json_response(200, {"removed": removed})

    def acs_grant(req: Request):
        """The operator app's admin consent to ACS Clients (its oauth2PermissionGrant)."""
        t, err = tenant_or_404(req)
        if err:
            return None, None, err
        grant = d.grant_between(t["id"], sim.operator_app["client_id"], ids.ACS_CLIENTS_APP_ID)
        if not grant:
            return t, None, _error(404, "the operator app has no grant to ACS Clients here")
        return t, grant, None

    def acs_grant_delete(req: Request) -> Response:
        t, grant, err = acs_grant(req)
        if err:
            return err
        return json_response(200, {"deleted": d.delete_grant(t["id"], grant["id"])})

    def acs_grant_patch(req: Request) -> Response:
        t, grant, err = acs_grant(req)
        if err:
            return err
        scope = body(req).get("scope")
        if not isinstance(scope, str):
            return _error(400, "scope must be a space-separated string")
        return json_response(200, d.set_grant_scope(t["id"], grant["id"], scope))

    def group_delete(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        return json_response(200, {"deleted": d.delete_group(t["id"], req.params["gid"])})

    def plan(req: Request) -> Response:
        t, err = tenant_or_404(req)
        if err:
            return err
        data = body(req)
        name, status = data.get("plan", t.get("_plan")), data.get("capabilityStatus", "Enabled")
        if name not in ("Free", "P1", "P2"):
            return _error(400, "plan must be Free, P1 or P2")
        if status not in ("Enabled", "Warning", "Suspended", "Deleted", "LockedOut"):
            return _error(400, "capabilityStatus must be one of Graph's values")
        d.set_plan(t["id"], name, status)
        return json_response(200, {"plan": name, "capabilityStatus": status})

    def app_secret(req: Request) -> Response:
        """Move the end date of the secret the portal signs in with (negative: expired)."""
        days = body(req).get("days")
        if not isinstance(days, int):
            return _error(400, "days must be a whole number")
        found = d.application_by_app_id(sim.operator_app["client_id"])
        if not found:
            return _error(404, "the operator app is not registered")
        return json_response(200, d.set_secret_end(found[0], found[1], days))

    def redirect_uris(req: Request) -> Response:
        uris = body(req).get("redirectUris") or body(req).get("redirect_uris") or []
        return json_response(200, {"redirectUris": sim.add_redirect_uris(list(uris))})

    def app_credentials(req: Request) -> Response:
        data = body(req)
        return json_response(
            200,
            sim.set_app_credentials(
                secret_days=[int(d) for d in data.get("secret_days", [])],
                certificate_days=[int(d) for d in data.get("certificate_days", [])],
            ),
        )

    def acs_list(req: Request) -> Response:
        name = req.params["resource"]
        if not sim.acs_resource(name):
            return _error(404, f"unknown ACS resource {name}")
        return json_response(200, {"value": sim.store.list(ASSIGNMENT, name)})

    def acs_seed(req: Request) -> Response:
        name = req.params["resource"]
        if not sim.acs_resource(name):
            return _error(404, f"unknown ACS resource {name}")
        data = body(req)
        entries = data.get("value", [data])
        docs = []
        for e in entries:
            problem = Acs.validate(str(e.get("objectId", "")), e)
            if problem:
                return _error(400, problem)
            docs.append(Acs.doc(e["objectId"], e))
        sim.store.put_many(ASSIGNMENT, name, [(doc["objectId"], doc) for doc in docs])
        return json_response(200, {"value": docs})

    def acs_clear(req: Request) -> Response:
        name = req.params["resource"]
        with sim.store.transaction():
            for doc in sim.store.list(ASSIGNMENT, name):
                sim.store.delete(ASSIGNMENT, name, doc["objectId"])
        return json_response(200, {"cleared": name})

    def _acs(req: Request) -> Acs | None:
        name = req.params["resource"]
        return Acs(sim, name) if sim.acs_resource(name) else None

    def acs_roles_list(req: Request) -> Response:
        acs = _acs(req)
        if acs is None:
            return _error(404, f"unknown ACS resource {req.params['resource']}")
        return json_response(200, {"value": sorted(acs.role_holders())})

    def acs_roles_grant(req: Request) -> Response:
        acs = _acs(req)
        principal = str(body(req).get("principalId") or "")
        if acs is None or not principal:
            return _error(400, "an ACS resource and a principalId are required")
        acs.role_holders()  # seed the defaults first, so a grant adds to them
        return json_response(200, acs.grant_role(principal))

    def acs_roles_withhold(req: Request) -> Response:
        acs = _acs(req)
        if acs is None:
            return _error(404, f"unknown ACS resource {req.params['resource']}")
        acs.role_holders()
        removed = sim.store.delete(ROLE_ASSIGNMENT, acs.resource, req.params["pid"].lower())
        return json_response(200, {"removed": removed})

    def faults_get(req: Request) -> Response:
        return json_response(200, {"value": sim.faults.rules()})

    def faults_add(req: Request) -> Response:
        data = body(req)
        try:
            if "seed" in data:
                sim.faults.seed(int(data["seed"]))
            rules = [
                FaultRule.from_dict(f) for f in data.get("value", [data] if "kind" in data else [])
            ]
        except (KeyError, ValueError) as exc:
            return _error(400, str(exc))
        for rule in rules:
            sim.faults.add(rule)
        return json_response(200, {"value": sim.faults.rules()})

    def faults_clear(req: Request) -> Response:
        sim.faults.clear()
        return json_response(200, {"value": []})

    def limits_get(req: Request) -> Response:
        return json_response(200, sim.rate_limits.describe())

    def limits_set(req: Request) -> Response:
        data = body(req)
        limits = {k: (v["rate"], v["burst"]) for k, v in data.get("limits", {}).items()}
        sim.rate_limits.configure(enabled=data.get("enabled"), limits=limits)
        return json_response(200, sim.rate_limits.describe())

    def stats(req: Request) -> Response:
        return json_response(200, sim.stats.snapshot())

    def stats_reset(req: Request) -> Response:
        sim.stats.reset()
        return json_response(200, sim.stats.snapshot())

    r.add("GET", "/health", health)
    r.add("GET", "/endpoints", endpoints)
    r.add("POST", "/reset", reset)
    r.add("POST", "/scenarios/big", big)
    r.add("GET", "/tenants", tenants)
    r.add("POST", "/tenants/{tid}/consent", consent)
    r.add("DELETE", "/tenants/{tid}/consent", revoke)
    r.add("PATCH", "/tenants/{tid}/consent", consent_enabled)
    r.add("POST", "/tenants/{tid}/acs-clients-sp", acs_sp_create)
    r.add("DELETE", "/tenants/{tid}/acs-clients-sp", acs_sp_delete)
    r.add("POST", "/tenants/{tid}/acs-clients-sp/assignments", acs_sp_assign)
    r.add("DELETE", "/tenants/{tid}/acs-clients-sp/assignments/{gid}", acs_sp_unassign)
    r.add("DELETE", "/tenants/{tid}/acs-clients-grant", acs_grant_delete)
    r.add("PATCH", "/tenants/{tid}/acs-clients-grant", acs_grant_patch)
    r.add("DELETE", "/tenants/{tid}/groups/{gid}", group_delete)
    r.add("PATCH", "/tenants/{tid}/plan", plan)
    r.add("POST", "/apps/secret", app_secret)
    r.add("POST", "/apps/redirect-uris", redirect_uris)
    r.add("POST", "/apps/credentials", app_credentials)
    r.add("GET", "/acs/{resource}/assignments", acs_list)
    r.add("POST", "/acs/{resource}/assignments", acs_seed)
    r.add("DELETE", "/acs/{resource}/assignments", acs_clear)
    r.add("GET", "/acs/{resource}/role-assignments", acs_roles_list)
    r.add("POST", "/acs/{resource}/role-assignments", acs_roles_grant)
    r.add("DELETE", "/acs/{resource}/role-assignments/{pid}", acs_roles_withhold)
    r.add("GET", "/faults", faults_get)
    r.add("POST", "/faults", faults_add)
    r.add("DELETE", "/faults", faults_clear)
    r.add("GET", "/rate-limits", limits_get)
    r.add("POST", "/rate-limits", limits_set)
    r.add("GET", "/stats", stats)
    r.add("POST", "/stats/reset", stats_reset)
    return r
