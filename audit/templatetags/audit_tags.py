"""Links from audit events to the pages of the things they name, query-string helpers, and
the event table's rows."""

from __future__ import annotations

import json
from functools import lru_cache

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from assignments.templatetags.names import with_id
from portal.links import object_url
from portal.templatetags.rows import utc

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
        url = object_url(name, int(pk))
        if url:
            return url
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
    return _target_type_label(value)


@lru_cache(maxsize=256)
def _target_type_label(value: str) -> str:
    from audit.filters import target_type_label as label

    return str(label(value))


def _related(event, field: str):
    """``event.<field>``, or None when the row it names is gone (events keep dangling ids)."""
    try:
        return getattr(event, field)
    except ObjectDoesNotExist:
        return None


def _who(event) -> SafeString:
    actor = _related(event, "actor")
    name = actor.display_name if actor else ""
    if name:
        return format_html('{} <span class="help">({})</span>', name, event.actor_label)
    return format_html("{}", event.actor_label)


def _target(event) -> SafeString:
    url = target_url(event.target_type, event.target_id)
    principal_id = getattr(event, "principal_id", "")
    text: str = (
        with_id(getattr(event, "principal_name", ""), principal_id)
        if principal_id
        else format_html("{}", event.target_label)
    )
    cell = format_html('<a href="{}">{}</a>', url, text) if url else text
    if event.target_type:
        cell = format_html(
            '{} <span class="help">{}</span>', cell, _target_type_label(event.target_type)
        )
    return format_html("{}", cell)


def _tenant(event, log_url: str) -> SafeString:
    tenant = _related(event, "tenant")
    if tenant:
        guid = tenant.tenant_id
        return format_html(
            '<a href="{}?tenant={}" title="{}">{}</a>',
            log_url,
            guid,
            gettext("Only the events of tenant %(tenant)s") % {"tenant": guid},
            tenant,
        )
    return format_html("{}", event.tenant_label)


@register.simple_tag
def event_rows(events, empty: str = "") -> SafeString:
    """The rows of the event table (templates/audit/_event_table.html), built in Python like
    the admin's change list: through the template engine they were half a log page's time."""
    if not events:
        return format_html('<tr><td colspan="6">{}</td></tr>', empty or gettext("No events match."))
    log_url = reverse("audit:log")
    details = gettext("Details")

    def row(event):
        return (
            utc(event.at),
            utc(event.at, "%Y-%m-%d %H:%M:%S"),
            _who(event),
            event.action,
            event.get_action_display(),  # portal.choices: a dictionary lookup
            _target(event),
            _tenant(event, log_url),
            object_url("audit:event", event.pk),
            details,
            gettext("of event %(pk)s") % {"pk": event.pk},
        )

    return format_html_join(
        "\n",
        "    <tr>\n"
        '      <td><time datetime="{}">{}</time></td>\n'
        "      <td>{}</td>\n"
        '      <td data-action="{}">{}</td>\n'
        "      <td>{}</td>\n"
        "      <td>{}</td>\n"
        '      <td><a href="{}">{}<span class="visually-hidden"> {}</span></a></td>\n'
        "    </tr>",
        (row(event) for event in events),
    )


@register.filter
def event_summary(event) -> str:
    from audit.reports import event_summary as summary

    return summary(event)
