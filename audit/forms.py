"""The audit log filter form (GET): the same fields drive the page and the exports."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.actions import Action
from audit.models import ActorType
from audit.selectors import EventFilter


def _action_choices() -> list[tuple[str, str] | tuple[str, list[tuple[str, str]]]]:
    groups = sorted({value.split(".")[0] for value in Action.values})
    return [
        ("", "Any action"),
        ("Groups", [(f"{g}.", f"Every {g}.* action") for g in groups]),
        ("Actions", [(value, f"{label} ({value})") for value, label in Action.choices]),
    ]


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


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class AuditFilterForm(forms.Form):
    since = forms.DateTimeField(
        required=False, label="From", widget=DateTimeInput(), help_text="Local time, inclusive."
    )
    until = forms.DateTimeField(required=False, label="Until", widget=DateTimeInput())
    q = forms.CharField(
        required=False,
        max_length=200,
        label="Search",
        help_text="Part of a target, actor or tenant name.",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tenant = forms.CharField(required=False, max_length=200, help_text="Name, domain or tenant id.")
    action = forms.ChoiceField(required=False, choices=_action_choices, widget=PlainSelect)
    actor = forms.CharField(required=False, max_length=254, help_text="Exact email or label.")
    actor_type = forms.ChoiceField(
        required=False,
        label="Actor kind",
        choices=[("", "Anyone"), *ActorType.choices],
        widget=PlainSelect,
    )
    target_type = forms.CharField(required=False, max_length=40, label="Target type")
    target_id = forms.CharField(required=False, max_length=64, label="Target id")
    request_id = forms.CharField(required=False, max_length=64, label="Request id")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since >= until:
            raise forms.ValidationError("“From” must be before “Until”.")
        return data

    def to_filter(self) -> EventFilter:
        """The filter of the valid fields; a field that does not validate filters nothing."""
        if not self.is_bound:
            return EventFilter()
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if v}
        return EventFilter(**data)
