"""The FilterSets of the API's lists: the pages' own.

The API pages with cursors, which need one fixed order (newest first), so a FilterSet's
``ordering`` is left out here (audit events keep theirs: their keyset pages follow it).
Assignments and sync runs filter through the console's FilterSets (assignments/filters.py),
tenants through the tenant list's (tenants/filters.py), events through the log's
(audit/filters.py).
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext

from assignments import filters as assignment_filters
from audit import filters as audit_filters
from audit.actions import Action
from tenants import filters as tenant_filters

# ``ordering = None`` removes the inherited filter: django-filter's metaclass leaves out a base
# class's filter whose name the subclass defines. The stubs only admit a filter there.


class TenantFilter(tenant_filters.TenantFilter):
    ordering = None  # type: ignore[assignment]


class AssignmentFilter(assignment_filters.AssignmentFilter):
    ordering = None  # type: ignore[assignment]


class SyncRunFilter(assignment_filters.SyncRunFilter):
    ordering = None  # type: ignore[assignment]


def _every_action() -> list[tuple[str, str]]:
    """Every action the portal records, and a group per prefix (``consent.``): an automation
    may ask for an action that has not occurred yet, which the page's choices leave out."""
    groups = sorted({value.split(".")[0] for value in Action.values})
    every = [(f"{g}.", gettext("Every %(group)s action") % {"group": g}) for g in groups]
    return every + list(Action.choices)


class AuditEventFilter(audit_filters.AuditEventFilter):
    """The log page's filters, with every action and target type accepted (the page offers only
    those that occur, so that no option of its form can never match)."""

    action = django_filters.ChoiceFilter(method="by_action", choices=_every_action)
    # Free text where the page offers a choice of the occurring types (a ChoiceFilter there).
    target_type = django_filters.CharFilter(  # type: ignore[assignment]
        method="exact_text", max_length=40
    )
