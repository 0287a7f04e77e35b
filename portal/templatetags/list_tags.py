"""Sortable column headers and page links for the operator lists (django-filter orderings)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

register = template.Library()
# What a screen reader hears after a column's name, per aria-sort state.
HINTS = {
    "ascending": _("sorted ascending, select to reverse"),
    "descending": _("sorted descending, select to reverse"),
    "none": _("select to sort"),
}


def _query(request, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value:
            query[key] = value
    return query.urlencode()


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str, default: str = "") -> str:
    """A ``<th>`` whose link sorts the list by ``key`` (again: the other way), with
    ``aria-sort`` saying how it is sorted now. ``default`` is the list's order when the query
    names none (``"name"`` or ``"-name"``)."""
    request = context["request"]
    current = request.GET.get("ordering") or default
    if current == key:
        state, arrow, next_order = "ascending", " ▲", f"-{key}"
    elif current == f"-{key}":
        state, arrow, next_order = "descending", " ▼", key
    else:
        state, arrow, next_order = "none", "", key
    href = "?" + _query(request, ordering=next_order, page="", cursor="")
    hint = HINTS[state]
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}">{}{}'
        '<span class="visually-hidden"> ({})</span></a></th>',
        state,
        href,
        label,
        arrow,
        hint,
    )


@register.simple_tag(takes_context=True)
def page_query(context, page_number) -> str:
    """The current query string on another page."""
    return _query(context["request"], page=str(page_number))


@register.simple_tag(takes_context=True)
def query_set(context, key: str, value="") -> str:
    """The current query string with ``key`` set to ``value`` (removed when empty), on the
    first page."""
    return _query(context["request"], **{key: str(value or ""), "page": "", "cursor": ""})


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key) if hasattr(mapping, "get") else key
