from django import forms
from django.conf import settings

from tenants.models import TenantStatus, VerificationLevel


class TenantCreateForm(forms.Form):
    tenant_ref = forms.CharField(
        label="Tenant id or verified domain",
        max_length=253,
        help_text="A GUID such as fab12ca7-0000-4000-8000-000000000002, or a domain such as "
        "fabrikam.com (looked up with Microsoft).",
    )
    display_name = forms.CharField(label="Display name", max_length=256, required=False)
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 3}), required=False)
    offline = forms.BooleanField(
        label="Register offline (no lookup at Microsoft)",
        required=False,
        help_text="For portals that cannot reach Microsoft: the tenant id is taken as typed, "
        "and the audit log records that it was not looked up.",
    )


class TenantEditForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        max_length=256,
        required=False,
        help_text="Leave empty to use the organization's name from Microsoft Graph.",
    )
    notes = forms.CharField(label="Notes", widget=forms.Textarea(attrs={"rows": 4}), required=False)


class TenantFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *TenantStatus.choices]
    )


class ConsentLinkForm(forms.Form):
    admin_email = forms.EmailField(label="Customer admin email", required=False)
    note = forms.CharField(label="Note for the admin", max_length=500, required=False)
    days = forms.IntegerField(label="Valid for (days)", min_value=1, max_value=90)
    version = forms.ChoiceField(
        label="Consent endpoint",
        choices=[("v1", "v1 (permissions of the app registration)"), ("v2", "v2 (.default)")],
        initial="v1",
    )
    level = forms.ChoiceField(
        label="Verification level",
        choices=[
            (
                VerificationLevel.STANDARD,
                "Standard: asks only VoIP, VoIP.Join (a Global, Application or Cloud "
                "application admin can consent)",
            ),
            (
                VerificationLevel.DEEP,
                "Deep: also Microsoft Graph read permissions for the full checks (needs a "
                "Global or Privileged Role admin)",
            ),
        ],
        required=False,
        help_text="A standard link always uses the v2 endpoint.",
    )
    send_email = forms.BooleanField(label="Email the link to the admin now", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].initial = settings.CONSENT_LINK_DAYS
        self.fields["level"].initial = settings.VERIFICATION_LEVEL

    def clean(self):
        data = super().clean()
        if data.get("send_email") and not data.get("admin_email"):
            self.add_error("admin_email", "Give the admin's email address to send the link.")
        return data


class GroupAddForm(forms.Form):
    object_id = forms.UUIDField(label="Group object id")
