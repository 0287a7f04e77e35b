"""Links from audit events to the pages of the things they name, and query-string helpers."""

from __future__ import annotations

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import NoReverseMatch, reverse

register = template.Library()

# Candidate URL names per target type; the first that resolves wins. Apps that are not built
# yet simply give no link.
_TARGET_URLS = {
    "customertenant": ("tenants:detail",),
    "acsresource": ("assignments:resource", "assignments:resource_detail"),
    "syncrun": ("assignments:sync_run", "assignments:run"),
    "auditevent": ("audit:event",),
}


def _first_url(names: tuple[str, ...], pk) -> str:
    for name in names:
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return ""


@register.simple_tag
def target_url(target_type: str, target_id: str) -> str:
    names = _TARGET_URLS.get(target_type)
    if not names or not str(target_id).isdigit():
        return ""
    return _first_url(names, int(target_id))


@register.simple_tag
def tenant_url(tenant_id) -> str:
    return _first_url(_TARGET_URLS["customertenant"], tenant_id) if tenant_id else ""


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with ``changes`` applied (empty values removed)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value:
            query[key] = value
    return query.urlencode()


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, indent=2, sort_keys=True, ensure_ascii=False)


@register.filter
def target_type_label(value: str) -> str:
    from audit.filters import target_type_label as label

    return label(value)


@register.filter
def event_summary(event) -> str:
    from audit.reports import event_summary as summary

    return summary(event)
