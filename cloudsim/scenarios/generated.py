"""Generated scenarios for scale: N customer tenants that have all given admin consent.

``python -m cloudsim --scenario consented-10000`` seeds the default scenario plus 10,000
tenants, each with Microsoft Graph and Azure Communication Services Clients service
principals, a Global Administrator, and the operator app consented as an admin would
(its service principal, Graph app roles and the delegated grants: ``Directory.grant_admin_consent``,
the same path the consent page takes). The tenants are written in one store transaction,
not through the admin API, so 10,000 take seconds.

Ids are deterministic (from the index), so a benchmark registers the same tenants in the
portal with ``tenant_id(i)`` without asking cloudsim.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

NAME = re.compile(r"^consented-(\d+)$")


def tenant_id(i: int) -> str:
    return f"5ca1e000-0000-4000-8000-{i:012d}"


def domain(i: int) -> str:
    return f"scale{i:05d}.example"


def tenant(i: int) -> dict[str, Any]:
    """Tenant ``i`` (1-based) in the shape of a scenario file's ``tenants`` entry."""
    tid = tenant_id(i)
    return {
        "id": tid,
        "display_name": f"Scale Tenant {i:05d}",
        "domains": [domain(i)],
        "plan": "P1",
        "service_principals": {
            "graph": f"5ca1e000-0003-4000-8000-{i:012d}",
            "acs_clients": f"5ca1e000-0004-4000-8000-{i:012d}",
        },
        "operator_consent": {"service_principal_id": f"5ca1e000-0005-4000-8000-{i:012d}"},
        "users": [
            {
                "id": f"5ca1e000-0001-4000-8000-{i:012d}",
                "upn": f"admin@{domain(i)}",
                "name": f"Scale Admin {i:05d}",
                "roles": ["Global Administrator"],
            }
        ],
    }


def tenants(count: int) -> Iterator[dict[str, Any]]:
    return (tenant(i) for i in range(1, count + 1))


def count_of(name: str) -> int | None:
    """N for a scenario named ``consented-N``; None for any other name."""
    match = NAME.match(name)
    return int(match.group(1)) if match else None
