"""Filters of the tenant and consent-link lists (django-filter FilterSets).

They know nothing of requests or pages: a FilterSet takes query parameters and a queryset and
gives the matching rows in the asked order, so the operator pages and the API filter alike.
"""

from __future__ import annotations

import django_filters
from django.db.models import Case, CharField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.graph_auth import normalize_guid
from tenants.models import ConsentLink, ConsentOutcome, CustomerTenant, TenantStatus


def tenant_match(text: str, prefix: str = "") -> Q:
    """Tenants whose Entra tenant id is ``text`` or whose name or primary domain contains it."""
    text = text.strip()
    guid = normalize_guid(text)  # braces, capitals and no dashes are GUIDs too
    if guid is not None:
        return Q(**{f"{prefix}tenant_id": guid})
    return (
        Q(**{f"{prefix}display_name__icontains": text})
        | Q(**{f"{prefix}primary_domain__icontains": text})
        | Q(**{f"{prefix}graph_name__icontains": text})
    )


class OrderBy(django_filters.OrderingFilter):
    """``ordering=name`` / ``-name``: sorts by the field and then by the primary key, so a page
    boundary never moves between two equal rows."""

    def filter(self, qs: QuerySet, value):
        qs = super().filter(qs, value)
        if value:
            descending = value[0].startswith("-")
            return qs.order_by(*qs.query.order_by, "-pk" if descending else "pk")
        return qs


class TenantFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"), method="search", help_text=_("Name, domain or Entra tenant id.")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=TenantStatus.choices, empty_label=_("Any status")
    )
    ordering = OrderBy(
        label=_("Sort by"),
        fields=(
            ("display_name", "name"),
            ("status", "status"),
            ("last_verified_at", "verified"),
            ("created_at", "created"),
            ("status_changed_at", "changed"),
        ),
        field_labels={
            "name": _("Name"),
            "status": _("Status"),
            "verified": _("Last verified"),
            "created": _("Registered"),
            "changed": _("Status changed"),
        },
    )

    class Meta:
        model = CustomerTenant
        fields: list[str] = []

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(tenant_match(value)) if value.strip() else qs


class LinkState:
    """Where a consent link stands, most final first; every link is in exactly one state."""

    REVOKED = "revoked"
    USED = "used"
    EXPIRED = "expired"
    REFUSED = "refused"
    OPENED = "opened"
    SENT = "sent"

    CHOICES = [
        (SENT, _("Sent, not opened")),
        (OPENED, _("Opened, no answer yet")),
        (REFUSED, _("Declined or failed, still usable")),
        (USED, _("Consent granted")),
        (EXPIRED, _("Expired unanswered")),
        (REVOKED, _("Revoked")),
    ]
    LABELS = dict(CHOICES)
    WAITING = (SENT, OPENED, REFUSED)


def with_link_state(links: QuerySet, now=None) -> QuerySet:
    """``links`` annotated with ``state`` (a LinkState value)."""
    now = now or timezone.now()
    return links.annotate(
        state=Case(
            When(revoked_at__isnull=False, then=Value(LinkState.REVOKED)),
            When(used_at__isnull=False, then=Value(LinkState.USED)),
            When(expires_at__lte=now, then=Value(LinkState.EXPIRED)),
            When(
                outcome__in=[ConsentOutcome.DECLINED, ConsentOutcome.ERROR],
                then=Value(LinkState.REFUSED),
            ),
            When(opened_at__isnull=False, then=Value(LinkState.OPENED)),
            default=Value(LinkState.SENT),
            output_field=CharField(),
        )
    )


class ConsentLinkFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=LinkState.CHOICES, method="by_state", empty_label=_("Any status")
    )
    tenant = django_filters.CharFilter(
        label=_("Tenant"), method="by_tenant", help_text=_("Name, domain or Entra tenant id.")
    )
    ordering = OrderBy(
        label=_("Sort by"),
        fields=(
            ("created_at", "created"),
            ("expires_at", "expires"),
            ("tenant__display_name", "tenant"),
            ("state", "status"),
        ),
        field_labels={
            "created": _("Created"),
            "expires": _("Expires"),
            "tenant": _("Tenant"),
            "status": _("Status"),
        },
    )

    class Meta:
        model = ConsentLink
        fields: list[str] = []

    def __init__(self, data=None, queryset: QuerySet | None = None, **kwargs) -> None:
        # Annotated first, so the status filter, the status sort and the rows have ``state``.
        links = ConsentLink.objects.all() if queryset is None else queryset
        super().__init__(data, queryset=with_link_state(links), **kwargs)

    def by_state(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(state=value) if value else qs

    def by_tenant(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(tenant_match(value, "tenant__")) if value.strip() else qs
