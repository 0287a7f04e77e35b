"""Revoking a consent link is confirmed on a page that says what will happen."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from tenants.models import ConsentLink

pytestmark = pytest.mark.django_db


def test_revoke_asks_first_and_says_what_happens(operator_client, fabrikam, issued):
    link = issued.link
    url = f"/tenants/{fabrikam.pk}/links/{link.pk}/revoke/"
    detail = operator_client.get(f"/tenants/{fabrikam.pk}/").content.decode()
    assert f'href="{url}"' in detail  # the tenant page's Revoke opens the confirmation
    page = operator_client.get(url).content.decode()
    assert "Revoke the consent link of Fabrikam?" in page
    assert "The link stops opening at once" in page
    assert "its assignments stay as they are" in page
    assert str(fabrikam.tenant_id) in page and link.expires_at.strftime("%Y-%m-%d") in page
    link.refresh_from_db()
    assert (
        link.revoked_at is None
        and not AuditEvent.objects.filter(action="consent.link_revoked").exists()
    )
    done = operator_client.post(url, follow=True).content.decode()
    assert "Consent link revoked; it no longer opens." in done
    assert ConsentLink.objects.get(pk=link.pk).revoked_at is not None


def test_a_revoked_link_has_no_confirmation_to_show(operator_client, fabrikam, issued):
    url = f"/tenants/{fabrikam.pk}/links/{issued.link.pk}/revoke/"
    operator_client.post(url)
    assert operator_client.get(url)["Location"] == f"/tenants/{fabrikam.pk}/"


def test_an_auditor_gets_no_revoke_form(auditor_client, fabrikam, issued):
    url = f"/tenants/{fabrikam.pk}/links/{issued.link.pk}/revoke/"
    assert auditor_client.get(url)["Location"] == f"/tenants/{fabrikam.pk}/"
    assert auditor_client.post(url).status_code == 403
    assert ConsentLink.objects.get(pk=issued.link.pk).revoked_at is None


def test_the_offboarding_confirmation_summarises_the_assignments_it_removes(
    operator_client, operator_user
):
    from tests.factories import AssignmentFactory, CustomerTenantFactory

    tenant = CustomerTenantFactory(verified=True, display_name="Fabrikam")
    AssignmentFactory(tenant=tenant, display_name="Adele Vance")
    page = operator_client.get(f"/tenants/{tenant.pk}/offboard/").content.decode()
    assert "Fabrikam has 1 assignment: 1 user, on" in page and "Adele Vance" in page
    AssignmentFactory(tenant=tenant)
    page = operator_client.get(f"/tenants/{tenant.pk}/offboard/").content.decode()
    assert "Fabrikam has 2 assignments: 2 users, on" in page
