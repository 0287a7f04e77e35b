"""django-filter FilterSets for assignments, ACS resources and sync runs.

Used by the console's list pages and by the API: they know nothing of requests or pages. Each
takes the query string (``data``) and an optional base queryset (a resource's or a tenant's
assignments), offers a free-text ``q``, a few exact filters and ``ordering`` (one of the names
of its ``ordering`` choices, "-name" for descending). A value that does not validate (an
unknown state, a bad date) is left out and the other filters still apply: ``FilterSet.qs``
filters with the form's cleaned data, which holds only the valid fields; the form's errors say
what was ignored.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

import django_filters as df
from django import forms
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from assignments.models import (
    AcsResource,
    Assignment,
    AuthMethod,
    Desired,
    PrincipalType,
    SyncRun,
    SyncState,
    SyncStatus,
)
from tenants.models import CustomerTenant

# "Being removed" is a state of its own in the console: desired absent, whatever the sync says.
REMOVING = "absent"
STATE_CHOICES = [*SyncState.choices, (REMOVING, _("Being removed"))]
TRIGGER_CHOICES = [
    ("manual", _("Sync now")),
    ("change", _("After a change")),
    ("periodic", _("Periodic")),
    ("retry", _("Retry")),
    ("retry-failed", _("Retry failed entries")),
    ("recovery", _("Recovery")),
]


def _uuid_or_none(value: str) -> uuid.UUID | None:
    with contextlib.suppress(ValueError, AttributeError):
        return uuid.UUID(value.strip())
    return None


class AssignmentFilter(df.FilterSet):
    q = df.CharFilter(method="search", label=_("Name, tenant or object id"))
    principal_type = df.ChoiceFilter(
        choices=PrincipalType.choices, label=_("Type"), empty_label=_("Any type")
    )
    sync_state = df.ChoiceFilter(
        choices=STATE_CHOICES, method="by_state", label=_("Sync state"), empty_label=_("Any state")
    )
    tenant = df.ModelChoiceFilter(
        queryset=CustomerTenant.objects.order_by("display_name"), empty_label=_("Any tenant")
    )
    resource = df.ModelChoiceFilter(
        queryset=AcsResource.objects.all(), empty_label=_("Any resource")
    )
    ordering = df.OrderingFilter(
        fields=(
            ("display_name", "name"),
            ("principal_type", "type"),
            ("tenant__display_name", "tenant"),
            ("resource__name", "resource"),
            ("sync_state", "state"),
            ("last_synced_at", "synced"),
            ("created_at", "created"),
        ),
        field_labels={
            "display_name": _("Name"),
            "principal_type": _("Type"),
            "tenant__display_name": _("Tenant"),
            "resource__name": _("Resource"),
            "sync_state": _("Sync state"),
            "last_synced_at": _("Last synced"),
            "created_at": _("Added"),
        },
        label=_("Sort by"),
    )

    class Meta:
        model = Assignment
        fields = ["q", "principal_type", "sync_state", "tenant", "resource"]

    def __init__(self, data=None, queryset=None, **kwargs: Any) -> None:
        if queryset is None:
            queryset = Assignment.objects.all()
        queryset = queryset.select_related("tenant", "resource").order_by(
            "principal_type", "display_name", "object_id"
        )
        super().__init__(data, queryset=queryset, **kwargs)

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        text = Q(display_name__icontains=value) | Q(tenant__display_name__icontains=value)
        oid = _uuid_or_none(value)
        if oid is not None:
            text |= Q(object_id=oid) | Q(tenant__tenant_id=oid)
        return qs.filter(text)

    def by_state(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == REMOVING:
            return qs.filter(desired=Desired.ABSENT)
        return qs.filter(sync_state=value)


class ResourceFilter(df.FilterSet):
    q = df.CharFilter(method="search", label=_("Name or endpoint"))
    auth_method = df.ChoiceFilter(
        choices=AuthMethod.choices, label=_("Authentication"), empty_label=_("Any authentication")
    )
    enabled = df.BooleanFilter(label=_("Enabled"))
    last_status = df.ChoiceFilter(
        choices=SyncStatus.choices,
        field_name="last_status",
        label=_("Last sync"),
        empty_label=_("Any last sync"),
    )
    ordering = df.OrderingFilter(
        fields=(
            ("name", "name"),
            ("endpoint", "endpoint"),
            ("auth_method", "auth"),
            ("assignment_count", "assignments"),
            ("last_queued_at", "synced"),
        ),
        field_labels={
            "name": _("Name"),
            "endpoint": _("Endpoint"),
            "auth_method": _("Authentication"),
            "assignment_count": _("Assignments"),
            "last_queued_at": _("Last sync"),
        },
        label=_("Sort by"),
    )

    class Meta:
        model = AcsResource
        fields = ["q", "auth_method", "enabled", "last_status"]

    def __init__(self, data=None, queryset=None, **kwargs: Any) -> None:
        super().__init__(data, queryset=resource_queryset(queryset), **kwargs)

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return qs.filter(Q(name__icontains=value) | Q(endpoint__icontains=value)) if value else qs


def resource_queryset(queryset: QuerySet | None = None) -> QuerySet[AcsResource]:
    """Resources with their assignment count and their latest run's status and time."""
    latest = SyncRun.objects.filter(resource=OuterRef("pk")).order_by("-queued_at", "-id")
    return (
        (queryset if queryset is not None else AcsResource.objects.all())
        .annotate(
            assignment_count=Count("assignments", distinct=True),
            last_status=Subquery(latest.values("status")[:1]),
            last_queued_at=Subquery(latest.values("queued_at")[:1]),
            last_run_id=Subquery(latest.values("id")[:1]),
        )
        .order_by("name")
    )


class SyncRunFilter(df.FilterSet):
    q = df.CharFilter(method="search", label=_("Run number or message"))
    resource = df.ModelChoiceFilter(
        queryset=AcsResource.objects.all(), empty_label=_("Any resource")
    )
    status = df.ChoiceFilter(choices=SyncStatus.choices, empty_label=_("Any status"))
    trigger = df.ChoiceFilter(choices=TRIGGER_CHOICES, empty_label=_("Any trigger"))
    with_failures = df.BooleanFilter(method="by_failures", label=_("With failures"))
    queued_after = df.DateFilter(
        field_name="queued_at",
        lookup_expr="date__gte",
        label=_("Queued from (UTC)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    queued_before = df.DateFilter(
        field_name="queued_at",
        lookup_expr="date__lte",
        label=_("Queued until (UTC)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    ordering = df.OrderingFilter(
        fields=(
            ("queued_at", "queued"),
            ("started_at", "started"),
            ("finished_at", "finished"),
            ("status", "status"),
            ("failed", "failed"),
            ("planned", "planned"),
            ("resource__name", "resource"),
        ),
        field_labels={
            "queued_at": _("Queued"),
            "started_at": _("Started"),
            "finished_at": _("Finished"),
            "status": _("Status"),
            "failed": _("Failed"),
            "planned": _("Changes"),
            "resource__name": _("Resource"),
        },
        label=_("Sort by"),
    )

    class Meta:
        model = SyncRun
        fields = ["q", "resource", "status", "trigger", "with_failures"]

    def __init__(self, data=None, queryset=None, **kwargs: Any) -> None:
        if queryset is None:
            queryset = SyncRun.objects.all()
        queryset = queryset.select_related("resource", "requested_by").order_by("-queued_at", "-id")
        super().__init__(data, queryset=queryset, **kwargs)

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip().lstrip("#")
        if not value:
            return qs
        text = Q(message__icontains=value)
        if value.isdigit() and len(value) < 12:
            text |= Q(pk=int(value))
        return qs.filter(text)

    def by_failures(self, qs: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return qs
        return qs.filter(failed__gt=0) if value else qs.filter(failed=0)
