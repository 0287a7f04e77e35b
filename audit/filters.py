"""The audit log's filters (a django-filter FilterSet), shared by the log page, its exports and
the API. Nothing here knows about requests or pages.

Times are UTC. A time without an offset (what a ``datetime-local`` input sends) is read as UTC,
whatever zone the server or the viewer is in; one with an offset (ISO 8601, from the API) is
converted. The pages show every time in UTC with the offset stated, so what an auditor reads is
what they type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

import django_filters
from django import forms
from django.apps import apps
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audit.actions import Action
from audit.forms import PlainSelect
from audit.models import ActorType, AuditEvent
from tenants.filters import tenant_match

# Tenant names matching a search are resolved to ids first (one small query), so the event
# query can use the (tenant, at, id) index; beyond this many matches the search is too vague.
MAX_TENANT_MATCHES = 200
NEWEST_FIRST, OLDEST_FIRST = "-at", "at"

# Targets that are not models of ours.
_TARGET_LABELS = {
    "auditlog": _("Audit log"),
    "appcredential": _("App credential"),
    "serviceprincipal": _("Service principal"),
    "user": _("Operator"),
    "customertenant": _("Tenant"),
    "acsresource": _("ACS resource"),
    "consentlink": _("Consent link"),
    "driftentry": _("Drift entry"),
    "syncrun": _("Sync run"),
    "page": _("Portal page"),
}


def target_type_label(target_type: str) -> str:
    if target_type in _TARGET_LABELS:
        return str(_TARGET_LABELS[target_type])
    for model in apps.get_models():
        if model._meta.model_name == target_type:
            return str(model._meta.verbose_name).capitalize()
    return target_type


def occurring(column: str) -> list[str]:
    """The distinct non-empty values of ``column`` in the log, in order, read by skipping
    through its index (one probe per value) rather than scanning every event."""
    table = AuditEvent._meta.db_table
    connection = connections[AuditEvent.objects.db]
    qn = connection.ops.quote_name
    col, tbl = qn(column), qn(table)
    sql = (
        f"WITH RECURSIVE v(x) AS ("  # noqa: S608 - column and table are ours, quoted
        f"SELECT MIN({col}) FROM {tbl} WHERE {col} > '' "
        f"UNION ALL SELECT (SELECT MIN({col}) FROM {tbl} WHERE {col} > v.x) FROM v "
        f"WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def action_choices() -> list:
    """Only actions that occur in the log (an option that can never match helps nobody),
    labelled, with a "every … action" group per prefix that has more than one."""
    labels = dict(Action.choices)
    present = occurring("action")
    by_group: dict[str, list[str]] = {}
    for value in present:
        by_group.setdefault(value.split(".")[0], []).append(value)
    groups = [
        (
            f"{g}.",
            ngettext(
                "Every %(group)s action (%(count)d kind)",
                "Every %(group)s action (%(count)d kinds)",
                len(values),
            )
            % {"group": g, "count": len(values)},
        )
        for g, values in sorted(by_group.items())
        if len(values) > 1
    ]
    actions = sorted(((v, labels.get(v, v)) for v in present), key=lambda c: c[1])
    choices: list = []
    if groups:
        choices.append((gettext("Groups"), groups))
    choices.append((gettext("Actions"), actions))
    return choices


def target_type_choices() -> list[tuple[str, str]]:
    return sorted(((t, target_type_label(t)) for t in occurring("target_type")), key=lambda c: c[1])


class UTCDateTimeField(forms.DateTimeField):
    """A date and time read as UTC when it carries no offset (ISO 8601 offsets are honoured)."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            text = value.strip()
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                parsed = None
            if parsed is not None:
                if timezone.is_naive(parsed):
                    parsed = parsed.replace(tzinfo=dt.UTC)
                return parsed.astimezone(dt.UTC)
        result = super().to_python(value)
        return result.astimezone(dt.UTC) if result is not None else None


class UTCDateTimeFilter(django_filters.DateTimeFilter):
    field_class = UTCDateTimeField


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class AuditEventFilter(django_filters.FilterSet):
    since = UTCDateTimeFilter(
        field_name="at",
        lookup_expr="gte",
        label=_("From (UTC)"),
        widget=DateTimeInput(),
        help_text=_("UTC (+00:00), inclusive."),
    )
    until = UTCDateTimeFilter(
        field_name="at",
        lookup_expr="lt",
        label=_("Until (UTC)"),
        widget=DateTimeInput(),
        help_text=_("UTC (+00:00), exclusive."),
    )
    q = django_filters.CharFilter(
        label=_("Search"),
        method="search",
        help_text=_("Part of a target, actor or tenant name."),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tenant = django_filters.CharFilter(
        label=_("Tenant"),
        method="by_tenant",
        help_text=_("Entra tenant id (GUID), or part of a name or domain."),
        widget=forms.TextInput(attrs={"size": 38}),
    )
    resource = django_filters.ModelChoiceFilter(
        label=_("ACS resource"),
        method="by_resource",
        # A callable is read per request (django-filter's documented form); the stubs only
        # admit a queryset.
        queryset=lambda request: apps.get_model(  # type: ignore[arg-type]
            "assignments", "AcsResource"
        ).objects.order_by("name"),
        empty_label=_("Any resource"),
    )
    action = django_filters.ChoiceFilter(
        label=_("Action"),
        method="by_action",
        choices=action_choices,
        empty_label=_("Any action"),
        widget=PlainSelect,
    )
    actor = django_filters.CharFilter(
        label=_("Actor"), method="by_actor", help_text=_("Exact email or label.")
    )
    actor_type = django_filters.ChoiceFilter(
        label=_("Actor kind"),
        choices=ActorType.choices,
        empty_label=_("Anyone"),
        widget=PlainSelect,
    )
    target_type = django_filters.ChoiceFilter(
        label=_("Target type"),
        choices=target_type_choices,
        empty_label=_("Any target"),
        widget=PlainSelect,
    )
    target_id = django_filters.CharFilter(label=_("Target id"), method="exact_text")
    request_id = django_filters.CharFilter(label=_("Request id"), method="exact_text")
    ordering = django_filters.ChoiceFilter(
        label=_("Order"),
        method="order",
        choices=[(NEWEST_FIRST, _("Newest first")), (OLDEST_FIRST, _("Oldest first"))],
        empty_label=None,
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=queryset, **kwargs)
        for name in ("tenant", "q", "actor"):
            self.form.fields[name].max_length = 254
        for name in ("target_id", "request_id"):
            self.form.fields[name].max_length = 64
        self._offer_asked_action()

    def _offer_asked_action(self) -> None:
        """A known action that has not occurred yet (a bookmarked or shared link: "every
        revoked consent") is a valid filter that matches nothing, shown selected; the form
        offers only what occurs, and refuses what the portal never records."""
        asked = (self.data or {}).get("action", "") if self.is_bound else ""
        field = self.form.fields.get("action")
        if not asked or field is None or not isinstance(field, forms.ChoiceField):
            return
        if field.valid_value(asked):
            return
        if asked in Action.values:
            option = (asked, str(Action(asked).label))
        elif asked.endswith(".") and any(v.startswith(asked) for v in Action.values):
            option = (asked, gettext("Every %(group)s action") % {"group": asked[:-1]})
        else:
            return
        # A callable's choices are an iterator by now (CallableChoiceIterator); the stubs
        # still admit the callable itself.
        offered = list(cast(Iterable, field.choices))
        field.choices = [*offered, (gettext("Not recorded yet"), [option])]

    @property
    def newest_first(self) -> bool:
        data = self.form.cleaned_data if self.is_bound and self.is_valid() else {}
        return data.get("ordering") != OLDEST_FIRST

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """The matching events in the asked order (newest first by default). A field that
        does not validate filters nothing; the form says why."""
        qs = super().filter_queryset(queryset)
        return qs.order_by("-at", "-id") if self.newest_first else qs.order_by("at", "id")

    def clean_params(self) -> dict[str, str]:
        """The valid, non-empty filters as strings (for the export's own audit event)."""
        if not self.is_bound:
            return {}
        self.errors  # noqa: B018
        params = {}
        for name, value in getattr(self.form, "cleaned_data", {}).items():
            if value in (None, ""):
                continue
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            elif hasattr(value, "pk"):
                value = value.pk
            params[name] = str(value)
        return params

    # --- filter methods -----------------------------------------------------------------

    def search(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        q = value.strip()
        return qs.filter(
            Q(target_label__icontains=q)
            | Q(actor_label__icontains=q)
            | Q(tenant_label__icontains=q)
        )

    def by_tenant(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        from tenants.models import CustomerTenant

        text = value.strip()
        if not text:
            return qs
        tenants = CustomerTenant.objects.filter(tenant_match(text)).order_by("pk")
        return qs.filter(
            tenant_id__in=list(tenants.values_list("pk", flat=True)[:MAX_TENANT_MATCHES])
        )

    def by_resource(self, qs: QuerySet, name: str, value) -> QuerySet:
        # Resource events name the resource as their target; assignment and drift events name
        # it in their details.
        return qs.filter(
            Q(target_type="acsresource", target_id=str(value.pk))
            | Q(target_type__in=("assignment", "driftentry"), details__resource=value.name)
        )

    def by_action(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value.endswith("."):
            return qs.filter(action__startswith=value)
        return qs.filter(action=value)

    def by_actor(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(actor_label=value.strip())

    def exact_text(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(**{name: value.strip()})

    def order(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs  # applied in ``qs`` after every filter
