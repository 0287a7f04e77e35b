"""'Connect your app': the code a developer pastes to get ACS tokens for Entra ID users.

Built from the portal's own settings (``portal.msconfig``): the operator app's client id
(customers consented to it, so their users may sign in to it), the resource's endpoint, the
VoIP scope of the Azure Communication Services Clients API, and the authority — the
``organizations`` tenant when the app serves customer tenants (multitenant), the home tenant
when it serves only the home tenant. The SDK shapes and their sources:
docs/microsoft/acs-connect-app.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from assignments.access import ACS_CLIENTS_VOIP_SCOPE
from assignments.models import AcsResource
from tenants.models import CustomerTenant

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
REDIRECT_PLACEHOLDER = "<your app's redirect URI>"


@dataclass(frozen=True)
class Snippets:
    resource_endpoint: str
    client_id: str
    tenant: str  # "organizations" or the home tenant id
    multitenant: bool
    authority_host: str  # "" for the public cloud (the SDKs' default)
    scope: str
    javascript: str
    dotnet: str


def is_multitenant() -> bool:
    """Whether the operator app serves tenants other than its home tenant."""
    return (
        CustomerTenant.objects.filter(is_home=False).exists() or not settings.ENTRA_HOME_TENANT_ID
    )


def snippets(resource: AcsResource, *, multitenant: bool | None = None) -> Snippets:
    if multitenant is None:
        multitenant = is_multitenant()
    home = settings.ENTRA_HOME_TENANT_ID or "<your home tenant id>"
    tenant = "organizations" if multitenant else home
    client_id = settings.ENTRA_CLIENT_ID or "<the operator app's client id>"
    authority = settings.ENTRA_AUTHORITY_HOST.rstrip("/")
    authority_host = "" if authority == PUBLIC_AUTHORITY else authority
    endpoint = resource.endpoint.rstrip("/")
    return Snippets(
        resource_endpoint=endpoint,
        client_id=client_id,
        tenant=tenant,
        multitenant=multitenant,
        authority_host=authority_host,
        scope=ACS_CLIENTS_VOIP_SCOPE,
        javascript=_javascript(endpoint, client_id, tenant, authority_host),
        dotnet=_dotnet(endpoint, client_id, tenant, authority_host),
    )


def _javascript(endpoint: str, client_id: str, tenant: str, authority_host: str) -> str:
    authority = f'\n  authorityHost: "{authority_host}",' if authority_host else ""
    return f"""// npm install @azure/communication-common @azure/identity
import {{ InteractiveBrowserCredential }} from "@azure/identity";
import {{ AzureCommunicationTokenCredential }} from "@azure/communication-common";

// The user signs in with their work account to the operator's app.
const entraTokenCredential = new InteractiveBrowserCredential({{
  tenantId: "{tenant}",
  clientId: "{client_id}",
  redirectUri: "{REDIRECT_PLACEHOLDER}",{authority}
}});

// The Entra ID token is exchanged for an ACS token (and refreshed) by the credential.
const credential = new AzureCommunicationTokenCredential({{
  resourceEndpoint: "{endpoint}",
  tokenCredential: entraTokenCredential,
  scopes: ["{ACS_CLIENTS_VOIP_SCOPE}"],
}});

const acsToken = await credential.getToken();
"""


def _dotnet(endpoint: str, client_id: str, tenant: str, authority_host: str) -> str:
    authority = f'\n    AuthorityHost = new Uri("{authority_host}"),' if authority_host else ""
    return f"""// dotnet add package Azure.Communication.Common
// dotnet add package Azure.Identity
using Azure.Communication;
using Azure.Identity;

// The user signs in with their work account to the operator's app.
var entraTokenCredential = new InteractiveBrowserCredential(new InteractiveBrowserCredentialOptions
{{
    TenantId = "{tenant}",
    ClientId = "{client_id}",
    RedirectUri = new Uri("{REDIRECT_PLACEHOLDER}"),{authority}
}});

// The Entra ID token is exchanged for an ACS token (and refreshed) by the credential.
var entraTokenCredentialOptions = new EntraCommunicationTokenCredentialOptions(
    resourceEndpoint: "{endpoint}",
    entraTokenCredential: entraTokenCredential)
{{
    Scopes = new[] {{ "{ACS_CLIENTS_VOIP_SCOPE}" }}
}};

var credential = new CommunicationTokenCredential(entraTokenCredentialOptions);
var acsToken = await credential.GetTokenAsync();
"""
