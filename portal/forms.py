from django import forms

from portal.models import Role


class InviteOperatorForm(forms.Form):
    email = forms.EmailField(label="Email address")
    display_name = forms.CharField(label="Name", max_length=200, required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.OPERATOR)


class ChangeRoleForm(forms.Form):
    user_id = forms.IntegerField()
    role = forms.ChoiceField(choices=Role.choices)
