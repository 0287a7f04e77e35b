"""Form widgets of the audit log's filters (audit/filters.py)."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe


class PlainSelect(forms.Select):
    """A select rendered in Python: the template-per-option default costs ~20 ms per page."""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = self.build_attrs(self.attrs, attrs)
        selected = "" if value is None else str(value)

        def options(choices):
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (v, mark_safe(" selected") if str(v) == selected else "", label)
                    for v, label in choices
                ),
            )

        parts = []
        for group_value, group_label in self.choices:
            if isinstance(group_label, list | tuple):
                parts.append(
                    format_html(
                        '<optgroup label="{}">{}</optgroup>', group_value, options(group_label)
                    )
                )
            else:
                parts.append(options([(group_value, group_label)]))
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(attrs),
            mark_safe("".join(parts)),  # noqa: S308 - every part built by format_html
        )
