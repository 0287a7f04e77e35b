"""``{% load lists %}``: sortable column headers for the FilterSet-backed lists.

``{% sort_th "name" "Name" %}`` renders a ``<th>`` whose link sorts by ``name`` (ascending;
descending when already ascending), keeps the list's other filters (``sort_query`` in the
context, the query string without ``ordering`` and ``page``), and states the current order in
``aria-sort`` for screen readers.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_th(context, field: str, label: str) -> str:
    current = str(context.get("ordering") or "")
    base = str(context.get("sort_query") or "")
    if current == field:
        target, state, mark = f"-{field}", "ascending", " ▲"
    elif current == f"-{field}":
        target, state, mark = field, "descending", " ▼"
    else:
        target, state, mark = field, "none", ""
    href = f"?{base}&ordering={target}" if base else f"?ordering={target}"
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}">{}<span aria-hidden="true">{}</span></a></th>',
        state,
        href,
        label,
        mark,
    )


@register.filter
def run_status(value: str) -> str:
    """A sync run's status code as its label ("partial" → "Partially failed")."""
    from assignments.models import SyncStatus

    return str(dict(SyncStatus.choices).get(value, value))
