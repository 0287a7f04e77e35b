"""Filters of the operator list (a django-filter FilterSet, free of request concerns)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from portal.models import Role, User
from tenants.filters import OrderBy


class OperatorFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search", help_text=_("Email or name."))
    role = django_filters.ChoiceFilter(
        label=_("Role"), choices=Role.choices, empty_label=_("Any role")
    )
    active = django_filters.ChoiceFilter(
        label=_("Active"),
        method="by_active",
        choices=[("yes", _("Active")), ("no", _("Deactivated"))],
        empty_label=_("Active or not"),
    )
    ordering = OrderBy(
        label=_("Sort by"),
        fields=(
            ("email", "email"),
            ("display_name", "name"),
            ("role", "role"),
            ("last_login", "last_login"),
            ("date_joined", "joined"),
        ),
        field_labels={
            "email": _("Email"),
            "name": _("Name"),
            "role": _("Role"),
            "last_login": _("Last sign-in"),
            "joined": _("Joined"),
        },
    )

    class Meta:
        model = User
        fields: list[str] = []

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        text = value.strip()
        if not text:
            return qs
        return qs.filter(Q(email__icontains=text) | Q(display_name__icontains=text))

    def by_active(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(is_active=value == "yes") if value else qs
