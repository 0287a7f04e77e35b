"""Fixed identifiers of the default scenario.

Tests and other engineers hard-code these; the scenario file
(`cloudsim/scenarios/default.yaml`) uses the same values.
"""

# Well-known Microsoft application ids (the same in every tenant).
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ACS_CLIENTS_APP_ID = "2a04943b-b6a7-4f65-8786-2bb6131b59f6"

GRAPH_RESOURCE = "https://graph.microsoft.com"
ACS_RESOURCE = "https://communication.azure.com"
ACS_CLIENTS_RESOURCE = "https://communication.azure.com/clients"

# The operator's app registration ("Contoso Communicator").
OPERATOR_APP_ID = "0bea7a00-0000-4000-8000-0000000000a1"
OPERATOR_APP_SECRET = "cloudsim-demo-secret-not-for-production"
OPERATOR_APP_NAME = "Contoso Communicator"
OPERATOR_APP_OBJECT_ID = "c0a7c0a7-0004-4000-8000-000000000001"

DEMO_PASSWORD = "Passw0rd!demo"

# Contoso: the operator's home tenant.
CONTOSO_TENANT_ID = "c0a7c0a7-0000-4000-8000-000000000001"
CONTOSO_DOMAIN = "contoso.example"
CONTOSO_OPS = "c0a7c0a7-0001-4000-8000-000000000001"
CONTOSO_ALICE = "c0a7c0a7-0001-4000-8000-000000000002"
CONTOSO_GRAPH_SP = "c0a7c0a7-0003-4000-8000-000000000001"
CONTOSO_OPERATOR_SP = "c0a7c0a7-0003-4000-8000-000000000003"

# Fabrikam: a customer with Entra ID P1, ACS Clients present, not yet consented.
FABRIKAM_TENANT_ID = "fab12ca7-0000-4000-8000-000000000002"
FABRIKAM_DOMAIN = "fabrikam.example"
FABRIKAM_ADMIN = "fab12ca7-0001-4000-8000-000000000001"
FABRIKAM_APPADMIN = "fab12ca7-0001-4000-8000-000000000002"
FABRIKAM_ADELE = "fab12ca7-0001-4000-8000-000000000003"
FABRIKAM_ALEX = "fab12ca7-0001-4000-8000-000000000004"
FABRIKAM_MEGAN = "fab12ca7-0001-4000-8000-000000000005"
FABRIKAM_SALES_GROUP = "fab12ca7-0002-4000-8000-000000000001"
FABRIKAM_SUPPORT_GROUP = "fab12ca7-0002-4000-8000-000000000002"
FABRIKAM_GRAPH_SP = "fab12ca7-0003-4000-8000-000000000001"
FABRIKAM_ACS_CLIENTS_SP = "fab12ca7-0003-4000-8000-000000000002"

# Northwind: lacks the ACS Clients service principal (consent -> AADSTS650052).
NORTHWIND_TENANT_ID = "a0a7b111-0000-4000-8000-000000000003"
NORTHWIND_DOMAIN = "northwind.example"
NORTHWIND_ADMIN = "a0a7b111-0001-4000-8000-000000000001"
NORTHWIND_USER = "a0a7b111-0001-4000-8000-000000000002"
NORTHWIND_GRAPH_SP = "a0a7b111-0003-4000-8000-000000000001"

# Litware: its admin declines (the consent page pre-selects Decline).
LITWARE_TENANT_ID = "1b7a1e00-0000-4000-8000-000000000004"
LITWARE_DOMAIN = "litware.example"
LITWARE_ADMIN = "1b7a1e00-0001-4000-8000-000000000001"
LITWARE_USER = "1b7a1e00-0001-4000-8000-000000000002"
LITWARE_GRAPH_SP = "1b7a1e00-0003-4000-8000-000000000001"
LITWARE_ACS_CLIENTS_SP = "1b7a1e00-0003-4000-8000-000000000002"

# Tailspin: the big tenant (10,000 users, 500 groups), generated on demand.
TAILSPIN_TENANT_ID = "7a115b11-0000-4000-8000-000000000005"
TAILSPIN_DOMAIN = "tailspin.example"
TAILSPIN_ADMIN = "7a115b11-0001-4000-8000-000000000000"

# ACS resources.
CONTOSO_ACS = "contoso-acs"
CONTOSO_ACS_RESOURCE_ID = "ac5ac5ac-0000-4000-8000-000000000001"
CONTOSO_ACS_KEY = "KInpYZ/rPMgB4Dor1Q8eq5Z5/a22nwVhGlPObLBLiB4="
CONTOSO_ACS_EU = "contoso-acs-eu"
CONTOSO_ACS_EU_RESOURCE_ID = "ac5ac5ac-0000-4000-8000-000000000002"
CONTOSO_ACS_EU_KEY = "X5vh2TXfHRpalqpWw9l3sckEV2UIMdl8mIZoNi4hGwU="

# Microsoft Graph application permissions (app role ids as published by Microsoft).
GRAPH_APP_ROLES = {
    "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
    "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    "DelegatedPermissionGrant.Read.All": "81b4724a-58aa-41c1-8a55-84ef97466587",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
    "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
    "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
}
# Microsoft Graph delegated permissions.
GRAPH_SCOPES = {
    "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
    "openid": "37f7f235-527c-4136-accd-4a02d197296e",
    "profile": "14dad69e-099b-42c9-810b-d002981feec1",
    "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
    "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
}
# ACS Clients delegated permissions. Microsoft does not publish these ids: invented here.
ACS_CLIENTS_SCOPES = {
    "VoIP": "ac5c1000-0000-4000-8000-000000000001",
    "VoIP.Join": "ac5c1000-0000-4000-8000-000000000002",
    "Chat": "ac5c1000-0000-4000-8000-000000000003",
    "Chat.Join": "ac5c1000-0000-4000-8000-000000000004",
    "Chat.Join.Limited": "ac5c1000-0000-4000-8000-000000000005",
}

# Application permissions the operator app requests in every customer tenant.
OPERATOR_GRAPH_APP_ROLES = (
    "Application.Read.All",
    "DelegatedPermissionGrant.Read.All",
    "Group.Read.All",
    "Organization.Read.All",
    "User.Read.All",
)
# The home tenant additionally granted this one (to create the ACS Clients SP).
HOME_EXTRA_GRAPH_APP_ROLES = ("Application.ReadWrite.All",)
OPERATOR_ACS_SCOPES = ("VoIP", "VoIP.Join")

# Directory roles that count as "admin" on the consent page.
ADMIN_ROLES_ANY_CONSENT = ("Global Administrator", "Privileged Role Administrator")
ADMIN_ROLES_NON_GRAPH_CONSENT = ("Application Administrator", "Cloud Application Administrator")
