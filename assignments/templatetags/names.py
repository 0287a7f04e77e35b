"""``{% load names %}``: a principal shown as "Name (object id)".

``{{ name|with_id:object_id }}`` renders the name followed by the object id in a ``<code>``, or
the object id alone when the name is unknown. Both are escaped: names come from a customer's
directory (``assignments.names``).
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def with_id(name: object, object_id: object) -> str:
    oid = str(object_id or "")
    text = str(name or "").strip()
    if not text or text == oid:
        return format_html('<code class="oid">{}</code>', oid)
    return format_html('{} <span class="oid">(<code>{}</code>)</span>', text, oid)


@register.inclusion_tag("assignments/_tenant_impact.html")
def tenant_impact(tenant) -> dict:
    """What a destructive tenant action (offboard, revoke a consent) does to its assignments:
    ``{% tenant_impact tenant %}`` on the confirmation page, with counts and the first names."""
    from assignments import names as name_cache
    from assignments.models import Assignment, Desired
    from assignments.services import summarize

    summary = summarize(Assignment.objects.filter(tenant=tenant, desired=Desired.PRESENT))
    name_cache.name_assignments(summary.examples, graph=False)
    return {"summary": summary, "tenant": tenant}
