"""The FilterSets of the API's lists: the pages' own, without their sort order.

The API pages with cursors, which need one fixed order (newest first), so a FilterSet's
``ordering`` is left out here. Assignments and sync runs filter through the console's
FilterSets (assignments/filters.py), tenants through the tenant list's (tenants/filters.py).
"""

from __future__ import annotations

from assignments import filters as assignment_filters
from tenants import filters as tenant_filters

# ``ordering = None`` removes the inherited filter: django-filter's metaclass leaves out a base
# class's filter whose name the subclass defines. The stubs only admit a filter there.


class TenantFilter(tenant_filters.TenantFilter):
    ordering = None  # type: ignore[assignment]


class AssignmentFilter(assignment_filters.AssignmentFilter):
    ordering = None  # type: ignore[assignment]


class SyncRunFilter(assignment_filters.SyncRunFilter):
    ordering = None  # type: ignore[assignment]
