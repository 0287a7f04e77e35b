"""Tenant registration and lifecycle: register, correct, offboard, delete.

Each service is keyword-only, runs in one transaction and writes one audit event. Tenant
status moves only through ``lifecycle.apply`` (the state machine's table). Graph is called
before the transaction opens (never hold a row lock across the network).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from audit.actions import Action
from audit.services import Actor, record_event
from tenants import graph, lifecycle
from tenants.errors import TenantError
from tenants.lifecycle import Event
from tenants.models import (
    ConsentLink,
    CustomerTenant,
    TenantStatus,
)
from tenants.names import clean_name

logger = logging.getLogger(__name__)


# --- tenants ----------------------------------------------------------------------------------


def register_tenant(
    *,
    actor: Actor,
    tenant_ref: str,
    display_name: str = "",
    notes: str = "",
    offline: bool = False,
) -> CustomerTenant:
    """Register a tenant by GUID or verified domain, looked up in Entra ID's metadata.

    ``offline``: for air-gapped operators, a GUID is taken as given (no lookup), and the audit
    event says so. Raises TenantError for a malformed reference, a tenant Entra ID does not
    know, a lookup failure or a tenant that is already registered.
    """
    ref = (tenant_ref or "").strip()
    try:
        if offline:
            tenant_id = graph.normalize_guid(ref) or ""
            if not tenant_id:
                raise TenantError("Offline registration needs the tenant id (a GUID).")
        else:
            tenant_id = graph.resolve_tenant(ref)
    except graph.GraphError as error:
        if error.permanent:
            raise TenantError(error.message) from error
        raise TenantError(
            f"Entra ID could not be asked right now: {error.message} Try again, or register "
            "the tenant offline by its id."
        ) from error
    domain = "" if ref.lower() == tenant_id else ref.lower()
    home = (settings.ENTRA_HOME_TENANT_ID or "").lower()
    try:
        with transaction.atomic():
            tenant = CustomerTenant.objects.create(
                tenant_id=tenant_id,
                display_name=display_name.strip() or domain,
                name_from_operator=bool(display_name.strip()),
                primary_domain=domain,
                verified_domains=[domain] if domain else [],
                is_home=bool(home) and tenant_id == home,
                notes=notes,
                created_by=actor.user,
                status_changed_at=timezone.now(),
            )
            record_event(
                actor=actor,
                action=Action.TENANT_CREATED,
                target=tenant,
                tenant=tenant,
                details={
                    "tenant_id": tenant_id,
                    "domain": domain,
                    "is_home": tenant.is_home,
                    "looked_up": not offline,
                },
            )
    except IntegrityError as exc:
        raise TenantError(f"Tenant {tenant_id} is already registered.") from exc
    return tenant


def update_tenant(
    *, actor: Actor, tenant: CustomerTenant, display_name: str, notes: str
) -> CustomerTenant:
    """Correct a tenant's display name and notes. A name typed here is kept from then on
    (verification no longer replaces it); an empty name goes back to Graph's."""
    name = clean_name(display_name)
    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        before = {"display_name": tenant.display_name, "notes": tenant.notes}
        tenant.name_from_operator = bool(name)
        tenant.display_name = name or tenant.graph_name or tenant.primary_domain
        tenant.notes = notes.strip()
        after = {"display_name": tenant.display_name, "notes": tenant.notes}
        changed = sorted(k for k in after if after[k] != before[k])
        if not changed:
            return tenant
        tenant.save(update_fields=["display_name", "name_from_operator", "notes", "updated_at"])
        record_event(
            actor=actor,
            action=Action.TENANT_UPDATED,
            target=tenant,
            tenant=tenant,
            details={"changed": changed, **{k: after[k] for k in changed if k != "notes"}},
        )
    return tenant


# --- offboarding -----------------------------------------------------------------------------


def start_offboarding(*, actor: Actor, tenant: CustomerTenant) -> CustomerTenant:
    """End a tenant's access: revoke its open links, mark every assignment of the tenant for
    removal (the normal sync deletes them on each ACS resource) and stop its checks (the
    periodic sweep visits consenting tenants only). One event; raises TenantError when the
    tenant is already leaving."""
    from assignments.models import Assignment, Desired, SyncState
    from assignments.services import queue_sync_after_change

    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        moved = lifecycle.apply(tenant, Event.OFFBOARD_STARTED)
        tenant.save(update_fields=["status", "status_changed_at", "updated_at"])
        now = timezone.now()
        links = ConsentLink.objects.filter(tenant=tenant, revoked_at=None, used_at=None)
        revoked = links.update(revoked_at=now, state_nonce="")
        assignments = Assignment.objects.filter(tenant=tenant)
        resources = {a.resource for a in assignments.select_related("resource")}
        removed = assignments.update(desired=Desired.ABSENT, sync_state=SyncState.PENDING)
        for resource in resources:  # a step of this service: its event records the change
            queue_sync_after_change(resource, actor.user)
        record_event(
            actor=actor,
            action=Action.TENANT_OFFBOARDING,
            target=tenant,
            tenant=tenant,
            details={
                "status": moved,
                "links_revoked": revoked,
                "assignments_removed": removed,
                "resources": sorted(r.name for r in resources),
            },
        )
    return tenant


def offboarding_left(tenant: CustomerTenant) -> int:
    """How many assignments of the tenant are still on an ACS resource (or waiting to go)."""
    from assignments.models import Assignment

    return Assignment.objects.filter(tenant=tenant).count()


def finish_offboarding(*, actor: Actor, tenant: CustomerTenant) -> CustomerTenant:
    """Offboarded, once the sync has removed every assignment of the tenant everywhere."""
    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        left = offboarding_left(tenant)
        if left:
            raise TenantError(
                ngettext(
                    "%(count)d assignment of %(tenant)s is still being removed from ACS "
                    "resources; the sync finishes it, then try again.",
                    "%(count)d assignments of %(tenant)s are still being removed from ACS "
                    "resources; the sync finishes them, then try again.",
                    left,
                )
                % {"count": left, "tenant": tenant}
            )
        moved = lifecycle.apply(tenant, Event.OFFBOARD_FINISHED)
        tenant.save(update_fields=["status", "status_changed_at", "updated_at"])
        record_event(
            actor=actor,
            action=Action.TENANT_OFFBOARDED,
            target=tenant,
            tenant=tenant,
            details={"status": moved},
        )
    return tenant


def delete_tenant(*, actor: Actor, tenant: CustomerTenant) -> None:
    """Remove an offboarded tenant's rows; its audit history stays (events keep their labels)."""
    with transaction.atomic():
        tenant = CustomerTenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status != TenantStatus.OFFBOARDED:
            raise TenantError("Only an offboarded tenant can be deleted: offboard it first.")
        record_event(
            actor=actor,
            action=Action.TENANT_DELETED,
            target=tenant,
            tenant=tenant,
            details={"tenant_id": str(tenant.tenant_id)},
        )
        tenant.delete()
