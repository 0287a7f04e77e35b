"""The consent-link list: every link the operators sent, searched, filtered and sorted."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render

from portal.roles import require_role
from tenants.filters import ConsentLinkFilter, LinkState
from tenants.models import ConsentLink

LINKS_PER_PAGE = 50


@require_role()
def link_list(request):
    links = ConsentLink.objects.select_related("tenant", "created_by")
    filters = ConsentLinkFilter(request.GET or None, queryset=links)
    qs = filters.qs if request.GET.get("ordering") else filters.qs.order_by("-created_at", "-pk")
    page = Paginator(qs, LINKS_PER_PAGE).get_page(request.GET.get("page"))
    other = request.GET.copy()
    other.pop("status", None)
    by_state = ConsentLinkFilter(other, queryset=ConsentLink.objects.all()).qs
    counts = dict(by_state.order_by().values_list("state").annotate(n=Count("id")))
    return render(
        request,
        "tenants/link_list.html",
        {
            "form": filters.form,
            "filtered": any(v for k, v in request.GET.items() if k not in ("page", "ordering")),
            "links": page.object_list,
            "page": page,
            "state_labels": LinkState.LABELS,
            "state_counts": [
                (value, label, counts[value])
                for value, label in LinkState.CHOICES
                if value in counts
            ],
            "state_total": sum(counts.values()),
            "current_status": request.GET.get("status", ""),
        },
    )
