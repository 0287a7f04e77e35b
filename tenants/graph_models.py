"""Plain results of ``tenants.graph`` calls (no SDK objects leave that module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Organization:
    tenant_id: str
    display_name: str
    verified_domains: list[str]
    default_domain: str


@dataclass(frozen=True)
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    # The delegated permissions the app publishes: {value ("VoIP"): permission id}
    published_scopes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PermissionGrant:
    id: str
    client_id: str
    resource_id: str
    consent_type: str
    scope: str

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())


@dataclass(frozen=True)
class AppRoleAssignment:
    id: str
    principal_id: str
    principal_type: str
    principal_display_name: str
    app_role_id: str


@dataclass(frozen=True)
class Application:
    id: str
    app_id: str
    display_name: str
    sign_in_audience: str
    redirect_uris: list[str]
    # {resource app id: {"Scope": {permission ids}, "Role": {...}}}
    required_resource_access: dict[str, dict[str, set[str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class AppCredential:
    """A client secret (``password``) or certificate (``certificate``) of an app registration."""

    kind: str
    key_id: str
    display_name: str
    end: datetime | None


@dataclass(frozen=True)
class SubscribedSku:
    """A commercial subscription of the tenant (``GET /subscribedSkus``)."""

    sku_part_number: str
    capability_status: str  # Enabled, Warning, Suspended, Deleted, LockedOut
    service_plan_ids: frozenset[str]


@dataclass(frozen=True)
class Group:
    id: str
    display_name: str
    description: str = ""


@dataclass(frozen=True)
class User:
    id: str
    display_name: str
    user_principal_name: str
    mail: str = ""
