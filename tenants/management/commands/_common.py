"""Shared bits of the tenants management commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from tenants import graph
from tenants.models import CustomerTenant


def find_tenant(ref: str) -> CustomerTenant:
    """A registered tenant by tenant id, domain or display name."""
    guid = graph.normalize_guid(ref)
    tenants = CustomerTenant.objects.all()
    found = (
        tenants.filter(tenant_id=guid).first()
        if guid
        else tenants.filter(primary_domain__iexact=ref).first()
        or tenants.filter(verified_domains__icontains=ref.lower()).first()
        or tenants.filter(display_name__iexact=ref).first()
    )
    if found is None:
        raise CommandError(f"No registered tenant {ref!r}. Register it with onboard_tenant.")
    return found


def add_link_options(parser) -> None:
    parser.add_argument("--email", default="", help="customer admin email")
    parser.add_argument("--note", default="", help="note shown to the admin")
    parser.add_argument("--days", type=int, default=None, help="days the link stays valid")
    parser.add_argument(
        "--consent-version", dest="consent_version", choices=["v1", "v2"], default="v1"
    )
    parser.add_argument("--send", action="store_true", help="email the link to --email")
