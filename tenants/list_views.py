"""The consent-link list: every link the operators sent, searched, filtered and sorted."""

from __future__ import annotations

from django.shortcuts import render

from portal.lists import list_context
from portal.roles import require_role
from tenants.filters import ConsentLinkFilter, LinkState
from tenants.models import ConsentLink


@require_role()
def link_list(request):
    context = list_context(
        request,
        ConsentLinkFilter,
        ConsentLink.objects.select_related("tenant", "created_by"),
        facet="status",
        facet_field="state",
        choices=LinkState.CHOICES,
        default_order=("-created_at", "-pk"),
    )
    context |= {"links": context["page"].object_list, "state_labels": LinkState.LABELS}
    return render(request, "tenants/link_list.html", context)
