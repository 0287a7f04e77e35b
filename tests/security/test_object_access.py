"""Object-level checks: an id from one tenant or resource never acts on another's objects."""

from __future__ import annotations

import pytest

from assignments.models import Assignment, Desired
from audit.models import AuditEvent
from cloudsim import ids
from tenants.models import ConsentLink, CustomerGroup, TenantStatus
from tests.factories import (
    AcsResourceFactory,
    AssignmentFactory,
    ConsentLinkFactory,
    CustomerGroupFactory,
    CustomerTenantFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    fabrikam = CustomerTenantFactory(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", verified=True
    )
    litware = CustomerTenantFactory(
        tenant_id=ids.LITWARE_TENANT_ID, display_name="Litware", status=TenantStatus.INVITED
    )
    litware_link = ConsentLinkFactory(tenant=litware)
    litware_group = CustomerGroupFactory(tenant=litware, display_name="Litware sales")
    one, two = AcsResourceFactory(name="one"), AcsResourceFactory(name="two")
    on_two = AssignmentFactory(
        resource=two, tenant=fabrikam, principal_type="tenant", object_id=fabrikam.tenant_id,
        client_ids=[ids.OPERATOR_APP_ID],
    )  # fmt: skip
    return fabrikam, litware_link, litware_group, one, on_two


def _unchanged(before_events: int) -> None:
    assert AuditEvent.objects.count() == before_events


def test_a_link_of_another_tenant_cannot_be_revoked_or_reissued(operator_client, world):
    fabrikam, link, *_ = world
    before = AuditEvent.objects.count()
    for action in ("revoke", "reissue", "email"):
        response = operator_client.post(f"/tenants/{fabrikam.pk}/links/{link.pk}/{action}/")
        assert response.status_code == 404, action
    assert ConsentLink.objects.get(pk=link.pk).revoked_at is None
    assert ConsentLink.objects.filter(tenant=fabrikam).count() == 0
    _unchanged(before)


def test_a_group_of_another_tenant_cannot_be_removed(operator_client, world):
    fabrikam, _link, group, *_ = world
    before = AuditEvent.objects.count()
    response = operator_client.post(f"/tenants/{fabrikam.pk}/groups/{group.pk}/remove/")
    assert response.status_code == 404
    assert CustomerGroup.objects.filter(pk=group.pk).exists()
    _unchanged(before)


def test_an_assignment_of_another_resource_cannot_be_removed(operator_client, world):
    *_, one, on_two = world
    before = AuditEvent.objects.count()
    response = operator_client.post(f"/resources/{one.pk}/assignments/{on_two.pk}/remove/")
    assert response.status_code == 404
    assert Assignment.objects.get(pk=on_two.pk).desired == Desired.PRESENT
    _unchanged(before)
