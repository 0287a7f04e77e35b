from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from tenants.models import TenantStatus, VerificationLevel


class TenantCreateForm(forms.Form):
    tenant_ref = forms.CharField(
        label=_("Tenant id or verified domain"),
        max_length=253,
        help_text=_(
            "A GUID such as fab12ca7-0000-4000-8000-000000000002, or a domain such as "
            "fabrikam.com (looked up with Microsoft)."
        ),
    )
    display_name = forms.CharField(label=_("Display name"), max_length=256, required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    offline = forms.BooleanField(
        label=_("Register offline (no lookup at Microsoft)"),
        required=False,
        help_text=_(
            "For portals that cannot reach Microsoft: the tenant id is taken as typed, "
            "and the audit log records that it was not looked up."
        ),
    )


class TenantEditForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=256,
        required=False,
        help_text=_("Leave empty to use the organization's name from Microsoft Graph."),
    )
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )


class TenantFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *TenantStatus.choices]
    )


class ConsentLinkForm(forms.Form):
    admin_email = forms.EmailField(label=_("Customer admin email"), required=False)
    note = forms.CharField(label=_("Note for the admin"), max_length=500, required=False)
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1, max_value=90)
    version = forms.ChoiceField(
        label=_("Consent endpoint"),
        choices=[("v1", _("v1 (permissions of the app registration)")), ("v2", _("v2 (.default)"))],
        initial="v1",
    )
    level = forms.ChoiceField(
        label=_("Verification level"),
        choices=[
            (
                VerificationLevel.STANDARD,
                _(
                    "Standard: asks only VoIP, VoIP.Join (a Global, Application or Cloud "
                    "application admin can consent)"
                ),
            ),
            (
                VerificationLevel.DEEP,
                _(
                    "Deep: also Microsoft Graph read permissions for the full checks (needs a "
                    "Global or Privileged Role admin)"
                ),
            ),
        ],
        required=False,
        help_text=_("A standard link always uses the v2 endpoint."),
    )
    send_email = forms.BooleanField(label=_("Email the link to the admin now"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.CONSENT_LINK_DAYS
        self.fields["level"].initial = settings.VERIFICATION_LEVEL

    def clean(self):
        data = super().clean()
        if data.get("send_email") and not data.get("admin_email"):
            self.add_error("admin_email", _("Give the admin's email address to send the link."))
        return data


class GroupAddForm(forms.Form):
    object_id = forms.UUIDField(label=_("Group object id"))
