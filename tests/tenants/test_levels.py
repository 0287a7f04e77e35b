"""Verification levels: what a link asks Microsoft for, and what the admin reads first."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tenants import errors
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant

pytestmark = pytest.mark.django_db

ACS = "https://communication.azure.com/clients"


def _consent_url(client, issued) -> str:
    response = client.post(f"/consent/{issued.token}/")
    assert response.status_code == 302
    return response["Location"]


def test_a_standard_link_asks_only_the_acs_clients_delegated_scopes(client, actor, fabrikam):
    issued = consent.issue_consent_link(actor=actor, tenant=fabrikam, level="standard")
    url = _consent_url(client, issued)
    assert urlsplit(url).path.endswith("/v2.0/adminconsent")
    assert parse_qs(urlsplit(url).query)["scope"] == [f"{ACS}/VoIP {ACS}/VoIP.Join"]
    assert "graph.microsoft.com" not in url


def test_a_deep_link_asks_every_permission_of_the_registration(client, actor, fabrikam):
    issued = consent.issue_consent_link(actor=actor, tenant=fabrikam, level="deep")
    url = _consent_url(client, issued)
    assert urlsplit(url).path.endswith("/adminconsent") and "/v2.0/" not in url
    assert "scope" not in parse_qs(urlsplit(url).query)


def test_the_portal_setting_chooses_the_level_of_new_links(actor, fabrikam, settings):
    settings.VERIFICATION_LEVEL = "standard"
    link = consent.issue_consent_link(actor=actor, tenant=fabrikam).link
    assert (link.verification_level, link.consent_version) == ("standard", "v2")
    again = consent.reissue_consent_link(actor=actor, link=link).link
    assert again.verification_level == "standard"


def test_an_unknown_level_is_refused_and_creates_nothing(actor, fabrikam):
    with pytest.raises(errors.TenantError, match="standard or deep"):
        consent.issue_consent_link(actor=actor, tenant=fabrikam, level="root")
    assert not ConsentLink.objects.exists()


def test_the_standard_landing_page_names_the_three_roles_and_no_graph_permission(
    client, actor, fabrikam
):
    issued = consent.issue_consent_link(actor=actor, tenant=fabrikam, level="standard")
    page = client.get(f"/consent/{issued.token}/").content.decode()
    assert "Application Administrator" in page and "Cloud Application Administrator" in page
    assert "VoIP.Join" in page and "Lets your users join Teams meetings" in page
    assert "Group.Read.All" not in page and "no Microsoft Graph permission is asked" in page


def test_the_deep_landing_page_lists_the_graph_permissions_and_the_two_roles(
    client, actor, fabrikam
):
    issued = consent.issue_consent_link(actor=actor, tenant=fabrikam, level="deep")
    page = client.get(f"/consent/{issued.token}/").content.decode()
    assert "Group.Read.All" in page and "verified domains" in page
    assert "Privileged Role Administrator" in page
    assert "cannot grant Microsoft Graph application permissions" in page


def test_the_operator_picks_the_level_and_sees_it_on_the_link(operator_client, fabrikam):
    response = operator_client.post(
        f"/tenants/{fabrikam.pk}/links/",
        {"days": 7, "version": "v1", "level": "standard"},
        follow=True,
    )
    assert "Verification level: <strong>Standard</strong>" in response.content.decode()
    detail = operator_client.get(f"/tenants/{fabrikam.pk}/").content.decode()
    assert "(standard, v2)" in detail
    bad = operator_client.post(f"/tenants/{fabrikam.pk}/links/", {"days": 7, "level": "root"})
    assert bad.status_code == 400 and ConsentLink.objects.count() == 1


def test_a_standard_tenant_cannot_pick_groups_and_is_told_why(operator_client, fabrikam):
    CustomerTenant.objects.filter(pk=fabrikam.pk).update(
        status="verified", verification_level="standard"
    )
    page = operator_client.get(f"/tenants/{fabrikam.pk}/?group_q=Sal").content.decode()
    assert "standard-level consent does not" in page and "Search Graph" not in page
    response = operator_client.post(
        f"/tenants/{fabrikam.pk}/groups/add/", {"object_id": "fab12ca7-0002-4000-8000-000000000001"}
    )
    assert response.status_code == 302 and not fabrikam.groups.exists()
