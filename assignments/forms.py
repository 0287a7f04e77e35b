"""Forms of the assignment pages. Validation of the rules lives in the services."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from assignments import acs, uploads
from assignments.models import AcsResource, AuthMethod
from tenants.models import CustomerTenant

ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class ResourceForm(forms.ModelForm):
    """Admins only. The rules are the services' (``acs.check_endpoint``, the declared key
    variable names); checked here too so each message sits next to its field."""

    endpoint = forms.CharField(
        max_length=300,
        help_text=_(
            "For example https://contoso-acs.communication.azure.com (https, an ACS "
            "host name; other hosts only when an administrator allows them in the settings)."
        ),
    )

    class Meta:
        model = AcsResource
        fields = ["name", "endpoint", "auth_method", "key_env_var", "enabled"]
        labels = {"key_env_var": _("Access key environment variable")}
        help_texts = {
            "key_env_var": _(
                "The NAME of the variable (or NAME_FILE, a Docker secret) on the web "
                "and worker servers that holds the access key, starting with ACS_KEY_ unless the "
                "settings list it. The key itself never enters the portal."
            ),
            "auth_method": _(
                "Entra ID uses the operator app's client credentials in the home "
                "tenant (scope https://communication.azure.com//.default); the app needs an Azure "
                "role on the resource."
            ),
        }

    def clean_endpoint(self) -> str:
        value = self.cleaned_data["endpoint"].strip()
        if "://" not in value:
            value = f"https://{value}"
        try:
            return acs.check_endpoint(value)
        except acs.AcsConfigError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_key_env_var(self) -> str:
        value = self.cleaned_data["key_env_var"].strip()
        if value and not ENV_NAME.match(value):
            raise forms.ValidationError(
                _("Use an environment variable name (capitals, digits and _), not the key itself.")
            )
        if value and not acs.key_env_var_allowed(value):
            raise forms.ValidationError(acs.key_env_var_rule())
        return value

    def clean(self):
        data = super().clean()
        if data.get("auth_method") == AuthMethod.ACCESS_KEY and not data.get("key_env_var"):
            self.add_error("key_env_var", _("Name the variable that holds the access key."))
        return data


def _tenants():
    return CustomerTenant.objects.order_by("display_name")


class TenantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} ({obj.get_status_display().lower()})"


class FindForm(forms.Form):
    """Step one of adding assignments: the resource (when not given), the tenant, a search."""

    resource = forms.ModelChoiceField(queryset=AcsResource.objects.all(), empty_label=None)
    tenant = TenantChoiceField(queryset=CustomerTenant.objects.none(), empty_label=None)
    q = forms.CharField(
        required=False,
        max_length=100,
        label=_("Find users and groups"),
        help_text=_(
            "The start of a name or UPN, or an object id. Empty: the first users and "
            "groups of the tenant."
        ),
    )

    def __init__(self, *args, resource: AcsResource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["tenant"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = _tenants().exclude(status__in=["offboarding", "offboarded"])
        if resource is not None:
            del self.fields["resource"]
        else:
            only = list(AcsResource.objects.values_list("pk", flat=True)[:2])
            if len(only) == 1:
                self.fields["resource"].initial = only[0]


class AssignForm(forms.Form):
    """Step two: what the picked users and groups are allowed (client ids), and the override."""

    client_ids = forms.CharField(
        required=False,
        label=_("Client ids allowed"),
        help_text=_("Application (client) ids separated by ';'. The operator app's is filled in."),
    )
    override = forms.BooleanField(
        required=False,
        label=_("Assign although the tenant is not verified (recorded in the audit log)"),
    )

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["client_ids"].initial = settings.ENTRA_CLIENT_ID


class EditAssignmentForm(forms.Form):
    client_ids = forms.CharField(
        required=False,
        label=_("Client ids allowed"),
        help_text=_("Application (client) ids separated by ';'. Empty: the operator app."),
        widget=forms.TextInput(attrs={"size": 80}),
    )


class BulkForm(forms.Form):
    """A bulk action on an assignment list: the checked rows (``ids``, read by the view), or
    all the list's filter matches (``scope=matching``)."""

    ACTIONS = [("remove", _("Remove")), ("resync", _("Re-sync")), ("retry", _("Retry failed"))]
    action = forms.ChoiceField(choices=ACTIONS)
    scope = forms.ChoiceField(
        choices=[("selected", _("selected")), ("matching", _("matching"))], required=False
    )
    confirmed = forms.BooleanField(required=False)
    # How many rows the confirmation page counted: a different count on confirming means the
    # selection changed meanwhile, and the page asks again.
    expected = forms.IntegerField(required=False, min_value=0)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Up to 5 MB. Columns principal_type, object_id (or a user's UPN), tenant_id, "
            "client_ids (separated by ';'). Nothing is applied until you confirm the preview."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > uploads.MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(max_mb)d MB.")
                % {"max_mb": uploads.MAX_BYTES // (1024 * 1024)}
            )
        try:
            return upload.name, upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(gettext("The file is not UTF-8 text.")) from None


class AccessCheckForm(forms.Form):
    resource = forms.ModelChoiceField(queryset=AcsResource.objects.all())
    tenant = forms.ModelChoiceField(queryset=CustomerTenant.objects.none())
    user = forms.CharField(label=_("User (UPN or object id)"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = _tenants()
