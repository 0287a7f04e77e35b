"""The FilterSets of the API's lists: the pages' own, without their sort order.

The API pages with cursors, which need one fixed order (newest first), so a FilterSet's
``ordering`` is left out here. Assignments and sync runs filter through the console's
FilterSets (assignments/filters.py). Tenants: the tenant list's FilterSet (tenants/filters.py)
is on its way; until then this one filters as that page does (``q``, ``status``).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q

from assignments import filters as assignment_filters
from tenants import graph
from tenants.models import CustomerTenant, TenantStatus


class TenantFilter(django_filters.FilterSet):
    """The tenant list page's filters: a status, and a search in name, domain or tenant id."""

    q = django_filters.CharFilter(
        method="search", max_length=100, label="Name, domain or Entra tenant id"
    )
    status = django_filters.ChoiceFilter(choices=TenantStatus.choices)

    class Meta:
        model = CustomerTenant
        fields = ["q", "status"]

    def search(self, queryset, name, value):
        q = value.strip()
        if not q:
            return queryset
        if guid := graph.normalize_guid(q):
            return queryset.filter(tenant_id=guid)
        match = Q(display_name__icontains=q) | Q(primary_domain__icontains=q)
        return queryset.filter(match | Q(graph_name__icontains=q))


class AssignmentFilter(assignment_filters.AssignmentFilter):
    ordering = None


class SyncRunFilter(assignment_filters.SyncRunFilter):
    ordering = None
