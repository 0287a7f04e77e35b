"""What the tenants domain refuses; each message is shown to the user as is."""

from __future__ import annotations


class TenantError(Exception):
    """A request the domain refuses; the message is shown to the user as is."""


class InvalidTransition(TenantError):
    """An event that has no move from the tenant's status (tenants/lifecycle.py)."""
