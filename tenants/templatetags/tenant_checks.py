"""Readable names for the checks in a finding."""

from django import template

register = template.Library()

LABELS = {
    "admin_consent": "Admin consent",
    "app_token": "Operator app can sign in",
    "organization": "Organization",
    "operator_sp": "Operator app in the tenant",
    "acs_clients_sp": "ACS Clients service principal",
    "delegated_grant": "VoIP permission granted (AllPrincipals)",
    "consent_scopes": "VoIP granted in Microsoft's consent answer",
    "graph": "Microsoft Graph",
    "configuration": "Configuration",
    "multitenant": "App is multitenant",
    "redirect_uri": "Consent callback registered",
    "user_test_redirect_uri": "User test callback registered",
    "acs_permissions": "App requests VoIP, VoIP.Join",
}


@register.filter
def check_label(check: str) -> str:
    if check.startswith("group:"):
        return "Group assigned to ACS Clients"
    return LABELS.get(check, check)
