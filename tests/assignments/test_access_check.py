""" "Can this user get an ACS token?" against cloudsim's Graph and ACS, with a real exchange."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assignments.models import Assignment
from audit.models import AuditEvent
from cloudsim import ids

from .conftest import sync_now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sales_assigned(acs_resource, fabrikam, cloudsim_clean, settings):
    """Fabrikam consented in cloudsim; its Sales group assigned and synced to contoso-acs."""
    cloudsim_clean.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    Assignment.objects.create(
        resource=acs_resource,
        tenant=fabrikam,
        principal_type="group",
        object_id=ids.FABRIKAM_SALES_GROUP,
        display_name="Sales",
        client_ids=[settings.ENTRA_CLIENT_ID],
    )
    assert sync_now(acs_resource).created == 1
    return acs_resource


def check(client, resource, tenant, user):
    url = reverse("assignments:access_check")
    return client.get(url, {"resource": resource.pk, "tenant": tenant.pk, "user": user})


def test_a_member_of_an_assigned_group_has_access_and_the_page_says_why(
    operator_client, sales_assigned, fabrikam
):
    page = check(operator_client, sales_assigned, fabrikam, "adele@fabrikam.example")
    text = page.content.decode()
    assert "Yes: this user can get an ACS token" in text
    assert "Member of the assigned group Sales (direct or nested)" in text
    assert "Sales assigned to the ACS Clients enterprise app in Fabrikam" in text
    assert "Tenant verified" in text and "Synced to the resource" in text
    assert AuditEvent.objects.filter(action="access.checked").count() == 1


def test_a_user_outside_every_assignment_is_told_no(operator_client, sales_assigned, fabrikam):
    text = check(operator_client, sales_assigned, fabrikam, "alex@fabrikam.example").content
    text = text.decode()
    assert "No: see the reasons below." in text
    assert "Not a member of any assigned group" in text
    assert "No assignment for this user alone" in text


def test_the_demo_exchange_gets_a_real_acs_token(operator_client, sales_assigned, fabrikam):
    url = reverse("assignments:access_check")
    query = f"?resource={sales_assigned.pk}&tenant={fabrikam.pk}&user=adele@fabrikam.example"
    data = {"resource": sales_assigned.pk, "tenant": fabrikam.pk, "user": "adele@fabrikam.example"}
    text = operator_client.post(url + query, data).content.decode()
    assert "issued an ACS token for adele@fabrikam.example" in text
    assert (
        f"8:acs:{ids.CONTOSO_ACS_RESOURCE_ID}_wf_{ids.FABRIKAM_TENANT_ID}_{ids.FABRIKAM_ADELE}"
        in text
    )
    alex = {**data, "user": "alex@fabrikam.example"}
    text = operator_client.post(url, alex).content.decode()
    assert "refused the exchange" in text and "UserNotAssigned" in text


def test_a_group_not_assigned_to_the_acs_clients_app_gives_no_access(
    operator_client, sales_assigned, fabrikam, cloudsim_clean
):
    """What ACS itself refuses (GroupNotAssignedToApplication) the explanation refuses too."""
    cloudsim_clean.admin(
        "DELETE",
        f"/tenants/{ids.FABRIKAM_TENANT_ID}/acs-clients-sp/assignments/{ids.FABRIKAM_SALES_GROUP}",
    )
    page = check(operator_client, sales_assigned, fabrikam, "adele@fabrikam.example")
    text = page.content.decode()
    assert "No: see the reasons below." in text
    assert "Member of the assigned group Sales (direct or nested)" in text
    assert "Sales not assigned to the Azure Communication Services Clients enterprise app" in text
    assert "Users and groups" in text  # the remedy
    url = reverse("assignments:access_check")
    data = {"resource": sales_assigned.pk, "tenant": fabrikam.pk, "user": "adele@fabrikam.example"}
    text = operator_client.post(url, data).content.decode()
    assert "refused the exchange" in text and "GroupNotAssignedToApplication" in text
