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
