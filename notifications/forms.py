"""Forms for notification preferences and webhook endpoints."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from assignments.models import AcsResource
from notifications.kinds import KIND_CHOICES
from tenants.models import CustomerTenant


class SubscriptionForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("Events"),
        choices=KIND_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    tenants = forms.ModelMultipleChoiceField(
        label=_("Only these tenants"),
        queryset=CustomerTenant.objects.all(),
        required=False,
        help_text=_("Leave empty for every tenant."),
    )
    resources = forms.ModelMultipleChoiceField(
        label=_("Only these ACS resources"),
        queryset=AcsResource.objects.all(),
        required=False,
        help_text=_("Leave empty for every resource (sync events)."),
    )

    @classmethod
    def initial_from(cls, subscription) -> dict:
        if subscription is None:
            return {}
        return {
            "kinds": subscription.kinds,
            "tenants": list(subscription.tenants.all()),
            "resources": list(subscription.resources.all()),
        }


class EndpointForm(SubscriptionForm):
    name = forms.CharField(max_length=100)
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "https:// address of your receiver. Private and loopback addresses are refused."
        ),
    )
    enabled = forms.BooleanField(required=False, initial=True)
    field_order = ["name", "url", "enabled", "kinds", "tenants", "resources"]
