"""Seed the store from a scenario file; generate the big tenant on demand."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from . import ids
from .directory import APP, GROUP, TENANT, USER, Directory
from .scenarios import generated
from .store import Doc, Store

SCENARIO_DIR = Path(__file__).parent / "scenarios"
BIG_USERS = 10_000
BIG_GROUPS = 500


def load_scenario(name: str) -> dict[str, Any]:
    """A scenario by name (a file in cloudsim/scenarios/) or by path. `big` = default + Tailspin;
    `consented-N` = default + N generated tenants that have consented (scenarios/generated.py)."""
    if name == "big":
        data = load_scenario("default")
        data["big_tenant"] = True
        return data
    count = generated.count_of(name)
    if count is not None:
        data = load_scenario("default")
        data["generated_tenants"] = count  # generated at seed time, not stored as YAML
        return data
    path = Path(name)
    if not path.exists():
        for ext in (".yaml", ".yml", ".json"):
            candidate = SCENARIO_DIR / f"{name}{ext}"
            if candidate.exists():
                path = candidate
                break
        else:
            raise FileNotFoundError(f"no scenario named {name!r} in {SCENARIO_DIR}")
    return yaml.safe_load(path.read_text())


def user_doc(tid: str, u: dict[str, Any]) -> Doc:
    upn = u["upn"]
    return {
        "id": u["id"],
        "displayName": u["name"],
        "givenName": u.get("given"),
        "surname": u.get("surname"),
        "userPrincipalName": upn,
        "mail": upn,
        "mailNickname": upn.split("@")[0],
        "jobTitle": u.get("job"),
        "businessPhones": [],
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "accountEnabled": True,
        "companyName": None,
        "_roles": list(u.get("roles", [])),
        "_password": u.get("password", ids.DEMO_PASSWORD),
        "_tid": tid,
    }


def group_doc(g: dict[str, Any]) -> Doc:
    return {
        "id": g["id"],
        "displayName": g["name"],
        "description": g.get("description"),
        "mailNickname": g["name"].lower().replace(" ", "-"),
        "mailEnabled": False,
        "securityEnabled": True,
        "groupTypes": [],
        "_members": list(g.get("members", [])),
    }


def tenant_doc(t: dict[str, Any]) -> Doc:
    domains = t["domains"]
    return {
        "id": t["id"],
        "displayName": t["display_name"],
        "tenantType": "AAD",
        "countryLetterCode": t.get("country", "US"),
        "createdDateTime": "2024-01-15T09:00:00Z",
        "verifiedDomains": [
            {
                "name": d,
                "isDefault": i == 0,
                "isInitial": i == 0,
                "type": "Managed",
                "capabilities": "Email, OfficeCommunicationsOnlineService",
            }
            for i, d in enumerate(domains)
        ],
        "assignedPlans": [],
        "_plan": t.get("plan", "Free"),
        "_consent_page_default": t.get("consent_page_default", "approve"),
    }


def credential_doc(
    *, display_name: str, end: datetime, start: datetime | None = None, hint: str = "", cert=False
) -> Doc:
    """A passwordCredential or keyCredential of an application (Graph v1.0 resource types)."""
    doc: Doc = {
        "customKeyIdentifier": None,
        "displayName": display_name,
        "endDateTime": end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "keyId": str(uuid.uuid4()),
        "startDateTime": (start or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if cert:
        return {**doc, "key": None, "type": "AsymmetricX509Cert", "usage": "Verify"}
    return {**doc, "hint": hint, "secretText": None}


def app_credentials(a: dict[str, Any]) -> Doc:
    """The operator app's client secret, valid ``secret_valid_days`` (default two years, the
    longest the Entra admin center offers), and certificates from ``certificates``."""
    now = datetime.now(UTC)
    days = int(a.get("secret_valid_days", 730))
    return {
        "passwordCredentials": [
            credential_doc(
                display_name="cloudsim", end=now + timedelta(days=days), hint=a["secret"][:3]
            )
        ],
        "keyCredentials": [
            credential_doc(
                display_name=c["display_name"],
                end=now + timedelta(days=int(c["valid_days"])),
                cert=True,
            )
            for c in a.get("certificates", [])
        ],
    }


def app_doc(a: dict[str, Any]) -> Doc:
    graph_roles = a["graph_app_roles"]
    return {
        "id": a["object_id"],
        "appId": a["app_id"],
        "displayName": a["display_name"],
        "signInAudience": a["sign_in_audience"],
        "web": {"redirectUris": list(a["redirect_uris"])},
        "requiredResourceAccess": [
            {
                "resourceAppId": ids.GRAPH_APP_ID,
                "resourceAccess": [
                    *({"id": ids.GRAPH_APP_ROLES[r], "type": "Role"} for r in graph_roles),
                    *({"id": ids.GRAPH_SCOPES[s], "type": "Scope"} for s in a["graph_scopes"]),
                ],
            },
            {
                "resourceAppId": ids.ACS_CLIENTS_APP_ID,
                "resourceAccess": [
                    {"id": ids.ACS_CLIENTS_SCOPES[s], "type": "Scope"} for s in a["acs_scopes"]
                ],
            },
        ],
        # Credentials with their validity, as Graph returns them (secretText and key null).
        **app_credentials(a),
        "_secret": a["secret"],
        "_graph_app_roles": list(graph_roles),
        "_graph_scopes": list(a["graph_scopes"]),
        "_acs_scopes": list(a["acs_scopes"]),
    }


def seed(store: Store, scenario: dict[str, Any]) -> None:
    """Replace the whole state with the scenario's."""
    directory = Directory(store)
    with store.transaction():
        store.clear()
        store.set_meta("scenario", yaml.safe_dump(scenario))
        app_cfg = scenario["operator_app"]
        app = app_doc(app_cfg)
        store.put(APP, app_cfg["home_tenant_id"], app["id"], app)
        for t in scenario["tenants"]:
            _seed_tenant(directory, t, app)
        if scenario.get("big_tenant"):
            seed_big_tenant(store)
        for t in generated.tenants(int(scenario.get("generated_tenants", 0))):
            _seed_tenant(directory, t, app)


def _seed_tenant(directory: Directory, t: dict[str, Any], app: Doc) -> None:
    store = directory.store
    tid = t["id"]
    store.put(TENANT, "", tid, tenant_doc(t))
    store.put_many(USER, tid, [(u["id"], user_doc(tid, u)) for u in t.get("users", [])])
    store.put_many(GROUP, tid, [(g["id"], group_doc(g)) for g in t.get("groups", [])])
    sps = t.get("service_principals", {})
    directory.create_service_principal(tid, ids.GRAPH_APP_ID, sps.get("graph"))
    if "acs_clients" in sps:
        acs = directory.create_service_principal(tid, ids.ACS_CLIENTS_APP_ID, sps["acs_clients"])
        for gid in t.get("acs_clients_assignments", [g["id"] for g in t.get("groups", [])]):
            group = directory.group(tid, gid)
            directory.assign_app_role(
                tid,
                principal=group,
                principal_type="Group",
                resource=acs,
                app_role_id="00000000-0000-0000-0000-000000000000",
            )
    consent = t.get("operator_consent")
    if consent:
        directory.grant_admin_consent(
            tid,
            app,
            sp_id=consent.get("service_principal_id"),
            extra_graph_roles=tuple(consent.get("extra_graph_app_roles", ())),
            include_acs=consent.get("acs_clients", True),
        )


def seed_big_tenant(store: Store) -> None:
    """Tailspin: 10,000 users and 500 groups, deterministic (seeded PRNG, uuid from index)."""
    rng = random.Random(20261122)  # noqa: S311 (test data, not secrets)
    tid = ids.TAILSPIN_TENANT_ID
    directory = Directory(store)
    first = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon", "Kim", "Leo"]
    last = ["Ng", "Olsen", "Park", "Quinn", "Rossi", "Silva", "Tran", "Usman", "Voss", "Weber"]
    with store.transaction():
        store.put(
            TENANT,
            "",
            tid,
            tenant_doc(
                {"id": tid, "display_name": "Tailspin Toys", "domains": [ids.TAILSPIN_DOMAIN]}
            )
            | {"_plan": "P1"},
        )
        users = [
            {
                "id": ids.TAILSPIN_ADMIN,
                "upn": f"admin@{ids.TAILSPIN_DOMAIN}",
                "name": "Tailspin Admin",
                "roles": ["Global Administrator"],
            }
        ]
        for i in range(1, BIG_USERS + 1):
            given, surname = rng.choice(first), rng.choice(last)
            users.append(
                {
                    "id": f"7a115b11-0001-4000-8000-{i:012d}",
                    "upn": f"user{i:05d}@{ids.TAILSPIN_DOMAIN}",
                    "name": f"{given} {surname} {i:05d}",
                    "given": given,
                    "surname": surname,
                }
            )
        store.put_many(USER, tid, [(u["id"], user_doc(tid, u)) for u in users])
        groups = []
        for g in range(1, BIG_GROUPS + 1):
            members = sorted(
                f"7a115b11-0001-4000-8000-{i:012d}" for i in rng.sample(range(1, BIG_USERS), 40)
            )
            groups.append({"id": f"7a115b11-0002-4000-8000-{g:012d}", "name": f"Team {g:03d}"})
            groups[-1]["members"] = members
        store.put_many(GROUP, tid, [(g["id"], group_doc(g)) for g in groups])
        directory.create_service_principal(
            tid, ids.GRAPH_APP_ID, "7a115b11-0003-4000-8000-" + "0" * 11 + "1"
        )
        acs = directory.create_service_principal(
            tid, ids.ACS_CLIENTS_APP_ID, "7a115b11-0003-4000-8000-" + "0" * 11 + "2"
        )
        for g in groups[:50]:
            directory.assign_app_role(
                tid,
                principal=directory.group(tid, g["id"]),
                principal_type="Group",
                resource=acs,
                app_role_id="00000000-0000-0000-0000-000000000000",
            )
