from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import Role


class InviteOperatorForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    display_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.OPERATOR)


class ChangeRoleForm(forms.Form):
    user_id = forms.IntegerField()
    role = forms.ChoiceField(choices=Role.choices)


class ChangeEmailForm(forms.Form):
    user_id = forms.IntegerField()
    email = forms.EmailField(label=_("New email address"))


def id_or_none(value: str | None) -> int | None:
    """A primary key read from a query or form parameter; None unless it is one the database
    can hold (``abc`` or a 19-digit number raised ValueError / OverflowError: a 500)."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None
