"""What every searchable console list passes its template: the filter form, one page of rows,
and how many of the searched rows are in each status (the facets above the table)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count

PER_PAGE = 50


def list_context(
    request,
    filterset_class,
    queryset,
    *,
    facet: str,
    facet_field: str = "",
    choices: list[tuple[str, str]],
    per_page: int = PER_PAGE,
    default_order: tuple[str, ...] = (),
) -> dict:
    """The page of ``filterset_class`` over ``queryset`` the query asks for, and the counts of
    ``facet`` values (the query parameter; ``facet_field`` the column when it is named
    otherwise) among the rows every other filter keeps."""
    filters = filterset_class(request.GET or None, queryset=queryset)
    rows = filters.qs
    if default_order and not request.GET.get("ordering"):
        rows = rows.order_by(*default_order)
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    others = request.GET.copy()
    others.pop(facet, None)
    counted = filterset_class(others, queryset=queryset).qs.order_by()
    counts = dict(counted.values_list(facet_field or facet).annotate(n=Count("pk")))
    return {
        "form": filters.form,
        "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
        "page": page,
        "facet": facet,
        "facet_counts": [
            (value, label, counts[value]) for value, label in choices if value in counts
        ],
        "facet_total": sum(counts.values()),
        "current_facet": request.GET.get(facet, ""),
    }
