"""The FilterSets behind the assignment, resource and sync-run lists (and the API)."""

from __future__ import annotations

import pytest

from assignments.filters import AssignmentFilter, ResourceFilter, SyncRunFilter
from assignments.models import AcsResource, Assignment, SyncRun
from cloudsim import ids

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(fabrikam, litware, offline_resource):
    other = AcsResource.objects.create(
        name="acs-eu", endpoint="https://acs-eu.invalid", key_env_var="ACS_KEY_EU"
    )
    make = Assignment.objects.create
    make(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=ids.FABRIKAM_ADELE,
        display_name="Adele Vance",
        sync_state="synced",
    )
    make(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="group",
        object_id=ids.FABRIKAM_SALES_GROUP,
        display_name="Sales",
        sync_state="failed",
    )
    make(
        resource=other,
        tenant=litware,
        principal_type="user",
        object_id=ids.LITWARE_USER,
        display_name="Lee Gu",
        desired="absent",
    )
    SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="partial",
        failed=2,
        message="2 changes failed",
    )
    SyncRun.objects.create(resource=other, trigger="periodic", status="succeeded")
    return offline_resource, other


def names(qs) -> list[str]:
    return [a.display_name for a in qs]


def test_search_by_name_tenant_or_object_id(rows):
    assert names(AssignmentFilter({"q": "adele"}).qs) == ["Adele Vance"]
    assert names(AssignmentFilter({"q": "litware"}).qs) == ["Lee Gu"]
    assert names(AssignmentFilter({"q": ids.FABRIKAM_SALES_GROUP.upper()}).qs) == ["Sales"]
    # a tenant's GUID finds its assignments
    assert len(AssignmentFilter({"q": ids.FABRIKAM_TENANT_ID}).qs) == 2


def test_state_filter_with_being_removed_and_ordering(rows):
    assert names(AssignmentFilter({"sync_state": "failed"}).qs) == ["Sales"]
    assert names(AssignmentFilter({"sync_state": "absent"}).qs) == ["Lee Gu"]
    assert names(AssignmentFilter({"ordering": "-name"}).qs) == ["Sales", "Lee Gu", "Adele Vance"]


def test_a_bad_value_is_ignored_and_the_other_filters_apply(rows):
    f = AssignmentFilter({"sync_state": "bogus", "principal_type": "group"})
    assert names(f.qs) == ["Sales"] and "sync_state" in f.form.errors


def test_a_scope_queryset_limits_the_rows(rows):
    resource, _ = rows
    f = AssignmentFilter({"principal_type": "user"}, queryset=resource.assignments.all())
    assert names(f.qs) == ["Adele Vance"]


def test_resources_sort_by_assignment_count_and_filter_by_last_sync(rows):
    resource, other = rows
    Assignment.objects.filter(display_name="Lee Gu").update(resource=resource)
    assert [r.name for r in ResourceFilter({"ordering": "-assignments"}).qs] == [
        resource.name,
        other.name,
    ]
    assert [r.name for r in ResourceFilter({"last_status": "partial"}).qs] == [resource.name]
    assert [r.name for r in ResourceFilter({"q": "acs-eu"}).qs] == ["acs-eu"]


def test_sync_runs_by_status_failures_number_and_trigger(rows):
    _, other = rows
    partial = SyncRun.objects.get(status="partial")
    assert list(SyncRunFilter({"with_failures": "true"}).qs) == [partial]
    assert list(SyncRunFilter({"q": f"#{partial.pk}"}).qs) == [partial]
    assert list(SyncRunFilter({"trigger": "periodic"}).qs) == [SyncRun.objects.get(resource=other)]
    assert list(SyncRunFilter({"queued_after": "not a date"}).qs) == list(SyncRun.objects.all())
