"""FilterSets of the API's lists (django-filter): what the pages' filter forms ask, as a query."""

from __future__ import annotations

import contextlib
import uuid

import django_filters
from django.db.models import Q

from assignments.models import Assignment, PrincipalType, SyncRun, SyncState, SyncStatus
from tenants import graph
from tenants.models import CustomerTenant, TenantStatus


class TenantFilter(django_filters.FilterSet):
    """The tenant list page's filters: a status, and a search in name, domain or tenant id."""

    status = django_filters.MultipleChoiceFilter(choices=TenantStatus.choices)
    search = django_filters.CharFilter(method="filter_search", max_length=100, label="Search")

    class Meta:
        model = CustomerTenant
        fields = ["status", "search"]

    def filter_search(self, queryset, name, value):
        q = value.strip()
        if not q:
            return queryset
        match = Q(display_name__icontains=q) | Q(primary_domain__icontains=q)
        if guid := graph.normalize_guid(q):
            match |= Q(tenant_id=guid)
        return queryset.filter(match)


class AssignmentFilter(django_filters.FilterSet):
    """The assignment list's filters (``assignments.selectors.assignment_list``)."""

    resource = django_filters.NumberFilter(field_name="resource_id")
    tenant = django_filters.NumberFilter(field_name="tenant_id")
    principal_type = django_filters.ChoiceFilter(choices=PrincipalType.choices)
    sync_state = django_filters.ChoiceFilter(choices=SyncState.choices)
    desired = django_filters.ChoiceFilter(choices=[("present", "Present"), ("absent", "Absent")])
    search = django_filters.CharFilter(method="filter_search", max_length=200, label="Search")

    class Meta:
        model = Assignment
        fields = ["resource", "tenant", "principal_type", "sync_state", "desired", "search"]

    def filter_search(self, queryset, name, value):
        q = value.strip()
        if not q:
            return queryset
        text = Q(display_name__icontains=q) | Q(tenant__display_name__icontains=q)
        with contextlib.suppress(ValueError):
            text |= Q(object_id=uuid.UUID(q))
        return queryset.filter(text)


class SyncRunFilter(django_filters.FilterSet):
    resource = django_filters.NumberFilter(field_name="resource_id")
    status = django_filters.ChoiceFilter(choices=SyncStatus.choices)

    class Meta:
        model = SyncRun
        fields = ["resource", "status"]
