"""Customer groups: the groups of a consented tenant the portal assigns, read from Graph."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import graph, lifecycle
from tenants.errors import TenantError
from tenants.models import (
    CustomerGroup,
    CustomerTenant,
    VerificationLevel,
)

logger = logging.getLogger(__name__)

STANDARD_NO_GRAPH = (
    "Picking groups reads them from Microsoft Graph, which a standard-level consent does not "
    "allow. Create a deep-level consent link and have a Global or Privileged Role admin accept it."
)


# --- customer groups --------------------------------------------------------------------------


def add_customer_group(*, actor: Actor, tenant: CustomerTenant, object_id: str) -> CustomerGroup:
    """Add a group of a consented tenant, read from Graph (it must exist)."""
    if tenant.status not in lifecycle.CONSENTING:
        raise TenantError("Groups can be picked once the tenant's admin has consented.")
    if tenant.verification_level == VerificationLevel.STANDARD:
        raise TenantError(STANDARD_NO_GRAPH)
    gid = graph.normalize_guid(object_id)
    if not gid:
        raise TenantError("A group id is a GUID.")
    try:
        found = graph.get_group(tenant_id=str(tenant.tenant_id), group_id=gid)
    except graph.GraphError as error:
        raise TenantError(f"Graph could not read the group: {error.message}") from error
    if found is None:
        raise TenantError(f"No group {gid} in {tenant}.")
    with transaction.atomic():
        group, created = CustomerGroup.objects.update_or_create(
            tenant=tenant,
            object_id=gid,
            defaults={"display_name": found.display_name, "last_seen_at": timezone.now()},
        )
        if not created:
            return group
        record_event(
            actor=actor,
            action=Action.GROUP_ADDED,
            target=group,
            tenant=tenant,
            details={"object_id": gid, "display_name": found.display_name},
        )
    return group


def remove_customer_group(*, actor: Actor, group: CustomerGroup) -> None:
    with transaction.atomic():
        record_event(
            actor=actor,
            action=Action.GROUP_REMOVED,
            target=group,
            tenant=group.tenant,
            details={"object_id": str(group.object_id), "display_name": group.display_name},
        )
        group.delete()
