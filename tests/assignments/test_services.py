"""Assignment services: the rules an operator meets, and the audit trail they leave."""

from __future__ import annotations

import pytest

from assignments.models import Assignment, Desired, SyncRun, SyncState
from assignments.services import (
    AssignmentError,
    add_assignment,
    create_resource,
    remove_assignment,
    request_sync,
)
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids

pytestmark = pytest.mark.django_db
OTHER_APP = "0bea7a00-0000-4000-8000-0000000000b2"


@pytest.fixture
def actor(operator_user):
    return Actor.operator(operator_user)


def test_adding_a_user_of_a_verified_tenant_queues_one_sync(
    actor, fabrikam, offline_resource, settings, django_capture_on_commit_callbacks, queued_tasks
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    with django_capture_on_commit_callbacks() as callbacks:
        a = add_assignment(
            actor=actor,
            resource=offline_resource,
            tenant=fabrikam,
            principal_type="user",
            object_id=ids.FABRIKAM_ADELE.upper(),
            display_name="Adele Vance",
        )
        add_assignment(
            actor=actor,
            resource=offline_resource,
            tenant=fabrikam,
            principal_type="group",
            object_id=ids.FABRIKAM_SALES_GROUP,
        )
    assert (str(a.object_id), a.client_ids, a.sync_state) == (
        ids.FABRIKAM_ADELE,
        [ids.OPERATOR_APP_ID],
        SyncState.PENDING,
    )
    assert SyncRun.objects.filter(resource=offline_resource, trigger="change").count() == 1
    assert len(callbacks) == 1  # debounced: the second change joined the queued run
    callbacks[0]()
    assert queued_tasks[0]["countdown"] == settings.ACS_SYNC_DEBOUNCE_SECONDS
    event = AuditEvent.objects.get(action="assignment.added", target_id=str(a.pk))
    assert event.details["object_id"] == ids.FABRIKAM_ADELE and event.tenant == fabrikam


def test_group_comes_from_the_tenants_customer_groups(actor, fabrikam, offline_resource):
    group = add_assignment(
        actor=actor,
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="group",
        object_id=ids.FABRIKAM_SALES_GROUP,
        client_ids=f"{ids.OPERATOR_APP_ID};{OTHER_APP}",
    )
    assert group.display_name == "Sales" and group.client_ids == [ids.OPERATOR_APP_ID, OTHER_APP]
    with pytest.raises(AssignmentError, match="not one of Fabrikam's customer groups"):
        add_assignment(
            actor=actor,
            resource=offline_resource,
            tenant=fabrikam,
            principal_type="group",
            object_id=ids.FABRIKAM_SUPPORT_GROUP,
            client_ids=[ids.OPERATOR_APP_ID],
        )


def test_whole_tenant_uses_the_tenant_id_as_object_id(actor, fabrikam, offline_resource):
    a = add_assignment(
        actor=actor,
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="tenant",
        client_ids=[ids.OPERATOR_APP_ID],
    )
    assert str(a.object_id) == ids.FABRIKAM_TENANT_ID and a.display_name == "Fabrikam"


def test_unverified_tenant_needs_an_audited_override(actor, litware, offline_resource):
    kwargs = dict(
        actor=actor,
        resource=offline_resource,
        tenant=litware,
        principal_type="user",
        object_id=ids.LITWARE_USER,
        client_ids=[ids.OPERATOR_APP_ID],
    )
    with pytest.raises(AssignmentError, match="not verified"):
        add_assignment(**kwargs)
    assert not Assignment.objects.exists()
    a = add_assignment(**kwargs, override=True)
    assert a.override_unverified
    assert AuditEvent.objects.filter(action="assignment.override", target_id=str(a.pk)).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"principal_type": "robot", "object_id": ids.FABRIKAM_ADELE}, "user, group or tenant"),
        ({"principal_type": "user", "object_id": "adele"}, "not an object id"),
        (
            {"principal_type": "user", "object_id": ids.FABRIKAM_ADELE, "client_ids": "nope"},
            "not a GUID",
        ),
        (
            {"principal_type": "tenant", "object_id": ids.FABRIKAM_ADELE},
            "object id is the tenant id",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason(actor, fabrikam, offline_resource, fields, message):
    with pytest.raises(AssignmentError, match=message):
        add_assignment(actor=actor, resource=offline_resource, tenant=fabrikam, **fields)
    assert not Assignment.objects.exists() and not AuditEvent.objects.exists()


def test_adding_twice_is_refused_but_new_client_ids_update(actor, fabrikam, offline_resource):
    kwargs = dict(actor=actor, resource=offline_resource, tenant=fabrikam, principal_type="user")
    add_assignment(**kwargs, object_id=ids.FABRIKAM_ADELE, client_ids=[ids.OPERATOR_APP_ID])
    with pytest.raises(AssignmentError, match="already assigned"):
        add_assignment(**kwargs, object_id=ids.FABRIKAM_ADELE, client_ids=[ids.OPERATOR_APP_ID])
    a = add_assignment(**kwargs, object_id=ids.FABRIKAM_ADELE, client_ids=[OTHER_APP])
    assert a.client_ids == [OTHER_APP]
    assert AuditEvent.objects.filter(action="assignment.updated").count() == 1


def test_removing_keeps_the_row_absent_until_the_sync(actor, fabrikam, offline_resource):
    a = add_assignment(
        actor=actor,
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=ids.FABRIKAM_ADELE,
        client_ids=[ids.OPERATOR_APP_ID],
    )
    remove_assignment(actor=actor, assignment=a)
    a.refresh_from_db()
    assert (a.desired, a.sync_state) == (Desired.ABSENT, SyncState.PENDING)
    assert AuditEvent.objects.filter(action="assignment.removed").count() == 1


def test_sync_now_reuses_the_queued_run(actor, offline_resource):
    first = request_sync(actor=actor, resource=offline_resource)
    second = request_sync(actor=actor, resource=offline_resource)
    assert first == second and AuditEvent.objects.filter(action="sync.queued").count() == 2


def test_a_resource_with_key_auth_needs_the_variable_name(actor):
    with pytest.raises(AssignmentError, match="environment variable"):
        create_resource(
            actor=actor, name="x", endpoint="https://x.communication.azure.com", key_env_var=""
        )
    r = create_resource(
        actor=actor,
        name="x",
        endpoint="https://x.communication.azure.com/",
        key_env_var="ACS_KEY_X",
    )
    assert r.endpoint == "https://x.communication.azure.com"
    assert AuditEvent.objects.get(action="resource.created").details["key_env_var"] == "ACS_KEY_X"


def test_beat_queues_one_periodic_run_per_enabled_resource(offline_resource, queued_tasks):
    from assignments.models import AcsResource
    from assignments.tasks import sync_all_resources

    AcsResource.objects.create(
        name="off", endpoint="https://off.invalid", key_env_var="X", enabled=False
    )
    assert sync_all_resources() == 1
    assert sync_all_resources() == 0  # the queued run is reused
    run = SyncRun.objects.get()
    assert (run.resource, run.trigger) == (offline_resource, "periodic")
