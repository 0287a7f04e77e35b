"""Graph v1.0 subset: msgraph-sdk, OData, paging, error shapes, permissions."""

from __future__ import annotations

import asyncio
import ssl

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.service_principals.service_principals_request_builder import (
    ServicePrincipalsRequestBuilder,
)
from msgraph_core import GraphClientFactory

from cloudsim import ids

from .conftest import app_token, user_token


class StaticToken(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator(["127.0.0.1"])


def test_msgraph_sdk_lists_service_principals_with_filter(cs, http):
    token = app_token(cs, http, ids.CONTOSO_TENANT_ID)

    async def run():
        client = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=cs.ca_file))
        )
        adapter = GraphRequestAdapter(
            BaseBearerTokenAuthenticationProvider(StaticToken(token)), client=client
        )
        adapter.base_url = cs.graph_base_url
        graph = GraphServiceClient(request_adapter=adapter)
        query = ServicePrincipalsRequestBuilder.ServicePrincipalsRequestBuilderGetQueryParameters(
            filter=f"appId eq '{ids.OPERATOR_APP_ID}'", select=["id", "appId", "displayName"]
        )
        result = await graph.service_principals.get(
            request_configuration=RequestConfiguration(query_parameters=query)
        )
        org = await graph.organization.get()
        await client.aclose()
        return result, org

    result, org = asyncio.run(run())
    assert [(sp.id, sp.app_id) for sp in result.value] == [
        (ids.CONTOSO_OPERATOR_SP, ids.OPERATOR_APP_ID)
    ]
    assert org.value[0].verified_domains[0].name == "contoso.example"


def test_paging_with_next_link(cs, http):
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.FABRIKAM_TENANT_ID)}"}
    url = f"{cs.graph_base_url}/users?$top=2&$select=userPrincipalName"
    seen, pages = [], 0
    while url:
        body = http.get(url, headers=auth).json()
        seen += [u["userPrincipalName"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
        assert not url or url.startswith(cs.graph_base_url)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5


def test_filter_startswith_or(cs, http):
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.FABRIKAM_TENANT_ID)}"}
    r = http.get(
        f"{cs.graph_base_url}/users",
        params={
            "$filter": "startswith(displayName,'adele') or userPrincipalName eq "
            "'ALEX@fabrikam.example'"
        },
        headers=auth,
    )
    assert sorted(u["id"] for u in r.json()["value"]) == [ids.FABRIKAM_ADELE, ids.FABRIKAM_ALEX]
    bad = http.get(
        f"{cs.graph_base_url}/users", params={"$filter": "jobTitle gt 'a'"}, headers=auth
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "Request_UnsupportedQuery"


def test_groups_members_and_transitive_member_of(cs, http):
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.FABRIKAM_TENANT_ID)}"}
    groups = http.get(
        f"{cs.graph_base_url}/groups",
        params={"$filter": "startswith(displayName,'Sal')"},
        headers=auth,
    ).json()["value"]
    assert [g["id"] for g in groups] == [ids.FABRIKAM_SALES_GROUP]
    members = http.get(
        f"{cs.graph_base_url}/groups/{ids.FABRIKAM_SALES_GROUP}/members", headers=auth
    ).json()["value"]
    assert {m["id"] for m in members} == {ids.FABRIKAM_ADELE, ids.FABRIKAM_MEGAN}
    assert members[0]["@odata.type"] == "#microsoft.graph.user"
    of = http.get(
        f"{cs.graph_base_url}/users/megan@fabrikam.example/transitiveMemberOf", headers=auth
    ).json()["value"]
    assert [g["displayName"] for g in of] == ["Sales"]
    assigned = http.get(
        f"{cs.graph_base_url}/servicePrincipals/{ids.FABRIKAM_ACS_CLIENTS_SP}/appRoleAssignedTo",
        headers=auth,
    ).json()["value"]
    assert {(a["principalId"], a["principalType"]) for a in assigned} == {
        (ids.FABRIKAM_SALES_GROUP, "Group"),
        (ids.FABRIKAM_SUPPORT_GROUP, "Group"),
    }


def test_error_shapes(cs, http):
    none = http.get(f"{cs.graph_base_url}/organization")
    assert none.status_code == 401
    err = none.json()["error"]
    assert err["code"] == "InvalidAuthenticationToken"
    assert set(err["innerError"]) == {"date", "request-id", "client-request-id"}
    forged = http.get(
        f"{cs.graph_base_url}/organization", headers={"Authorization": "Bearer x.y.z"}
    )
    assert forged.status_code == 401
    delegated = user_token(cs, http, "ops@contoso.example", "User.Read")
    denied = http.get(
        f"{cs.graph_base_url}/servicePrincipals", headers={"Authorization": f"Bearer {delegated}"}
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.CONTOSO_TENANT_ID)}"}
    missing = http.get(f"{cs.graph_base_url}/groups/{ids.FABRIKAM_SALES_GROUP}", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_customer_tenant_cannot_create_service_principals(cs, http):
    cs.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.FABRIKAM_TENANT_ID)}"}
    r = http.post(
        f"{cs.graph_base_url}/servicePrincipals",
        json={"appId": ids.ACS_CLIENTS_APP_ID},
        headers=auth,
    )
    assert r.status_code == 403


def test_home_preflight_creates_acs_clients_sp(cs, http):
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.CONTOSO_TENANT_ID)}"}
    flt = {"$filter": f"appId eq '{ids.ACS_CLIENTS_APP_ID}'"}
    before = http.get(f"{cs.graph_base_url}/servicePrincipals", params=flt, headers=auth)
    assert before.json()["value"] == []
    created = http.post(
        f"{cs.graph_base_url}/servicePrincipals",
        json={"appId": ids.ACS_CLIENTS_APP_ID},
        headers=auth,
    )
    assert created.status_code == 201
    assert created.json()["displayName"] == "Azure Communication Services Clients"
    again = http.post(
        f"{cs.graph_base_url}/servicePrincipals",
        json={"appId": ids.ACS_CLIENTS_APP_ID},
        headers=auth,
    )
    assert again.status_code == 409
    after = http.get(f"{cs.graph_base_url}/servicePrincipals", params=flt, headers=auth)
    assert [sp["id"] for sp in after.json()["value"]] == [created.json()["id"]]


def test_applications_exposes_registration(cs, http):
    auth = {"Authorization": f"Bearer {app_token(cs, http, ids.CONTOSO_TENANT_ID)}"}
    apps = http.get(
        f"{cs.graph_base_url}/applications",
        params={"$filter": f"appId eq '{ids.OPERATOR_APP_ID}'"},
        headers=auth,
    ).json()["value"]
    assert apps[0]["signInAudience"] == "AzureADMultipleOrgs"
    assert "http://127.0.0.1:8000/consent/callback/" in apps[0]["web"]["redirectUris"]
    resources = {r["resourceAppId"] for r in apps[0]["requiredResourceAccess"]}
    assert resources == {ids.GRAPH_APP_ID, ids.ACS_CLIENTS_APP_ID}
    assert "_secret" not in apps[0]


def test_a_user_is_found_by_upn_in_the_path(cloudsim):
    """Graph resolves /users/{upn}; the '@' arrives percent-encoded from real clients."""
    import ssl

    import httpx

    from cloudsim import ids as cs_ids

    tls = ssl.create_default_context(cafile=cloudsim.ca_file)
    token = httpx.post(
        f"{cloudsim.login_url}/{cs_ids.CONTOSO_TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": cs_ids.OPERATOR_APP_ID,
            "client_secret": cs_ids.OPERATOR_APP_SECRET,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls,
    ).json()["access_token"]
    response = httpx.get(
        f"{cloudsim.graph_base_url}/users/alice%40contoso.example",
        headers={"Authorization": f"Bearer {token}"},
        verify=tls,
    )
    assert response.status_code == 200, response.text
    assert response.json()["id"] == cs_ids.CONTOSO_ALICE
