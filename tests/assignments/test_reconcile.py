"""One sync run against cloudsim, in this process: what lands on the resource and in the run."""

from __future__ import annotations

import uuid

import pytest

from assignments.models import Assignment, Desired, DriftEntry, SyncRun, SyncState, SyncStatus
from assignments.services import adopt_drift, remove_drift
from assignments.sync import claim_resource, reconcile_resource
from audit.services import Actor
from cloudsim import ids

from .conftest import remote_assignments, sync_now

pytestmark = pytest.mark.django_db(transaction=True)
APP = ids.OPERATOR_APP_ID


def make(resource, tenant, n, **fields):
    return Assignment.objects.bulk_create(
        Assignment(
            resource=resource,
            tenant=tenant,
            principal_type="user",
            object_id=uuid.UUID(int=i + 1),
            client_ids=[APP],
            **fields,
        )
        for i in range(n)
    )


def writes(cloudsim) -> int:
    routes = cloudsim.admin("GET", "/stats")["routes"]
    return sum(n for r, n in routes.items() if r.split()[1] in ("PUT", "PATCH", "DELETE"))


def test_a_sync_creates_updates_and_deletes_until_remote_equals_desired(
    acs_resource, fabrikam, cloudsim_clean
):
    rows = make(acs_resource, fabrikam, 250)
    first = sync_now(acs_resource)
    assert (first.status, first.created, first.failed, first.done, first.planned) == (
        SyncStatus.SUCCEEDED,
        250,
        0,
        250,
        250,
    )
    assert len(remote_assignments(cloudsim_clean)) == 250
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}

    Assignment.objects.filter(pk=rows[0].pk).update(desired=Desired.ABSENT)
    Assignment.objects.filter(pk=rows[1].pk).update(client_ids=[APP, str(uuid.UUID(int=99))])
    second = sync_now(acs_resource)
    assert (second.deleted, second.updated, second.unchanged, second.created) == (1, 1, 248, 0)
    remote = remote_assignments(cloudsim_clean)
    assert str(rows[0].object_id) not in remote and not Assignment.objects.filter(pk=rows[0].pk)
    assert len(remote[str(rows[1].object_id)]["clientIds"]) == 2


def test_each_entry_carries_its_own_tenant_type_and_client_ids(
    acs_resource, fabrikam, litware, cloudsim_clean
):
    other_app = str(uuid.UUID(int=77))
    rows = [
        Assignment(resource=acs_resource, tenant=fabrikam, principal_type="user",
                   object_id=uuid.UUID(int=1), client_ids=[APP]),
        Assignment(resource=acs_resource, tenant=fabrikam, principal_type="group",
                   object_id=uuid.UUID(int=2), client_ids=[other_app.upper(), APP]),
        Assignment(resource=acs_resource, tenant=litware, principal_type="tenant",
                   object_id=uuid.UUID(ids.LITWARE_TENANT_ID), client_ids=[APP]),
    ]  # fmt: skip
    Assignment.objects.bulk_create(rows)
    assert sync_now(acs_resource).created == 3
    remote = remote_assignments(cloudsim_clean)
    assert {
        oid: (a["tenantId"], a["principalType"], a["clientIds"]) for oid, a in remote.items()
    } == {
        str(uuid.UUID(int=1)): (ids.FABRIKAM_TENANT_ID, "user", [APP]),
        str(uuid.UUID(int=2)): (ids.FABRIKAM_TENANT_ID, "group", [other_app, APP]),
        ids.LITWARE_TENANT_ID: (ids.LITWARE_TENANT_ID, "tenant", [APP]),
    }
    assert sync_now(acs_resource).unchanged == 3  # client ids compared whatever their case


def test_entries_removed_or_changed_outside_the_portal_are_restored_and_reported(
    operator_client, acs_resource, fabrikam, cloudsim_clean
):
    from django.urls import reverse

    from assignments import acs
    from audit.models import AuditEvent

    rows = make(acs_resource, fabrikam, 5)
    sync_now(acs_resource)
    with acs.client_for(acs_resource) as client:  # someone else edits the resource
        client.delete_assignment(str(rows[0].object_id))
        client.put_assignment(
            str(rows[1].object_id),
            tenant_id=ids.FABRIKAM_TENANT_ID,
            principal_type="user",
            client_ids=[str(uuid.UUID(int=66))],
        )
    run = sync_now(acs_resource)
    assert (run.restored, run.created, run.updated, run.unchanged) == (2, 1, 1, 3)
    remote = remote_assignments(cloudsim_clean)
    assert remote[str(rows[0].object_id)]["clientIds"] == [APP]
    assert remote[str(rows[1].object_id)]["clientIds"] == [APP]
    assert set(Assignment.objects.values_list("sync_state", flat=True)) == {SyncState.SYNCED}
    event = AuditEvent.objects.filter(action="sync.finished").latest("id")
    assert event.details["restored"] == 2
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "2 assignments the portal had synced were removed or changed on the resource" in page
    assert sync_now(acs_resource).restored == 0


def test_a_second_run_without_changes_sends_no_writes(acs_resource, fabrikam, cloudsim_clean):
    make(acs_resource, fabrikam, 120)
    sync_now(acs_resource)
    before = writes(cloudsim_clean)
    again = sync_now(acs_resource)
    assert (again.unchanged, again.created, again.status) == (120, 0, SyncStatus.SUCCEEDED)
    assert writes(cloudsim_clean) == before


def test_a_bad_entry_fails_alone_with_its_reason(acs_resource, fabrikam, cloudsim_clean):
    make(acs_resource, fabrikam, 30)
    bad = Assignment.objects.create(
        resource=acs_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=uuid.UUID(int=12345),  # a tenant assignment must use the tenant id
        client_ids=[APP],
    )
    run = sync_now(acs_resource)
    assert (run.status, run.created, run.failed) == (SyncStatus.PARTIAL, 30, 1)
    assert run.errors[0]["object_id"] == str(bad.object_id)
    assert "objectId must equal the tenantId" in run.errors[0]["reason"]
    bad.refresh_from_db()
    assert bad.sync_state == SyncState.FAILED and "tenantId" in bad.last_error


def test_throttling_and_server_errors_are_retried(acs_resource, fabrikam, cloudsim_clean):
    make(acs_resource, fabrikam, 300)
    cloudsim_clean.set_fault("429", service="acs", probability=0.3, arg="0")
    cloudsim_clean.set_fault("500", service="acs", probability=0.1)
    cloudsim_clean.set_fault("drop", service="acs", probability=0.05)
    run = sync_now(acs_resource)
    assert (run.status, run.created, run.failed) == (SyncStatus.SUCCEEDED, 300, 0)
    assert len(remote_assignments(cloudsim_clean)) == 300


def test_unknown_remote_entries_are_drift_until_adopted_or_removed(
    acs_resource, fabrikam, cloudsim_clean, operator_user
):
    foreign = [
        {"objectId": ids.FABRIKAM_ALEX, "tenantId": ids.FABRIKAM_TENANT_ID},
        {"objectId": ids.FABRIKAM_MEGAN, "tenantId": ids.FABRIKAM_TENANT_ID},
    ]
    cloudsim_clean.admin(
        "POST",
        f"/acs/{ids.CONTOSO_ACS}/assignments",
        {"value": [{**f, "principalType": "user", "clientIds": [APP]} for f in foreign]},
    )
    run = sync_now(acs_resource)
    assert run.drift == 2 and run.deleted == 0
    assert len(remote_assignments(cloudsim_clean)) == 2
    actor = Actor.operator(operator_user)
    alex = DriftEntry.objects.get(object_id=ids.FABRIKAM_ALEX)
    adopted = adopt_drift(actor=actor, entry=alex)
    assert adopted.adopted and adopted.sync_state == SyncState.SYNCED
    remove_drift(actor=actor, entry=DriftEntry.objects.get(object_id=ids.FABRIKAM_MEGAN))
    run = sync_now(acs_resource)
    assert (run.deleted, run.unchanged, run.drift) == (1, 1, 0)
    assert list(remote_assignments(cloudsim_clean)) == [ids.FABRIKAM_ALEX]
    assert not DriftEntry.objects.exists()


def test_a_held_lock_makes_the_run_wait_and_a_dead_run_is_superseded(acs_resource, fabrikam):
    dead = SyncRun.objects.create(resource=acs_resource, trigger="manual", status="running")
    assert claim_resource(resource_id=acs_resource.pk, owner="someone", seconds=60)
    run = SyncRun.objects.create(resource=acs_resource, trigger="manual")
    outcome = reconcile_resource(run_id=run.pk)
    assert outcome.status == "busy" and 50 < outcome.retry_in <= 60
    acs_resource.__class__.objects.update(sync_locked_until=None)  # the holder's lock expired
    assert reconcile_resource(run_id=run.pk).status == SyncStatus.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == SyncStatus.FAILED and f"run #{run.pk} took over" in dead.message


def test_a_missing_key_fails_the_run_with_the_variable_name_only(
    acs_resource, fabrikam, monkeypatch
):
    monkeypatch.delenv("ACS_DEMO_ACCESS_KEY")
    make(acs_resource, fabrikam, 1)
    run = sync_now(acs_resource)
    assert run.status == SyncStatus.FAILED
    assert "ACS_DEMO_ACCESS_KEY is not set" in run.message


def test_entra_authentication_uses_an_app_token_of_the_home_tenant(
    acs_resource, fabrikam, cloudsim_clean
):
    acs_resource.auth_method, acs_resource.key_env_var = "entra", ""
    acs_resource.save()
    make(acs_resource, fabrikam, 3)
    run = sync_now(acs_resource)
    assert (run.status, run.created) == (SyncStatus.SUCCEEDED, 3), run.message


def test_a_run_reads_the_assignments_in_bounded_chunks_never_all_at_once(
    acs_resource, fabrikam, cloudsim_clean, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assignments import sync

    monkeypatch.setattr(sync, "READ_CHUNK", 50)
    make(acs_resource, fabrikam, 230)
    with CaptureQueriesContext(connection) as queries:
        run = sync_now(acs_resource)
    assert (run.status, run.created, run.planned, run.done) == (SyncStatus.SUCCEEDED, 230, 230, 230)
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and 'FROM "assignments_assignment"' in q["sql"]
        and "COUNT(" not in q["sql"]
    ]
    assert len(reads) == 5 and all("LIMIT 50" in sql for sql in reads), reads
    assert len(remote_assignments(cloudsim_clean)) == 230


def test_a_run_that_leaves_drift_does_not_say_in_sync(acs_resource, fabrikam, cloudsim_clean):
    make(acs_resource, fabrikam, 3)
    cloudsim_clean.admin(
        "POST",
        f"/acs/{ids.CONTOSO_ACS}/assignments",
        {
            "value": [
                {
                    "objectId": ids.FABRIKAM_ALEX,
                    "tenantId": ids.FABRIKAM_TENANT_ID,
                    "principalType": "user",
                    "clientIds": [APP],
                }
            ]
        },
    )
    run = sync_now(acs_resource)
    assert (run.status, run.created, run.failed, run.drift) == (SyncStatus.SUCCEEDED, 3, 0, 1)
    assert "In sync" not in run.message and "1 remote entry" in run.message
    assert "drift" in run.message and not run.in_sync
    DriftEntry.objects.filter(object_id=ids.FABRIKAM_ALEX).update(remove_requested=True)
    run = sync_now(acs_resource)
    assert (run.deleted, run.drift, run.message, run.in_sync) == (1, 0, "In sync.", True)


def test_a_run_is_queued_until_it_starts_and_running_from_then_on(
    acs_resource, fabrikam, cloudsim_clean
):
    import threading
    import time

    make(acs_resource, fabrikam, 2)
    assert claim_resource(resource_id=acs_resource.pk, owner="someone", seconds=60)
    run = SyncRun.objects.create(resource=acs_resource, trigger="manual")
    assert reconcile_resource(run_id=run.pk).status == "busy"
    run.refresh_from_db()
    # Waiting for the resource's lock is still queued: nothing started.
    assert (run.status, run.started_at, run.get_status_display()) == (
        SyncStatus.QUEUED,
        None,
        "Queued",
    )
    acs_resource.__class__.objects.update(sync_locked_until=None)
    cloudsim_clean.set_fault("latency", service=ids.CONTOSO_ACS, method="PATCH", arg=1000)
    thread = threading.Thread(target=reconcile_resource, kwargs={"run_id": run.pk})
    thread.start()
    deadline = time.monotonic() + 10
    while (row := SyncRun.objects.get(pk=run.pk)).status == SyncStatus.QUEUED:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (row.status, row.started_at is not None, row.finished_at) == (
        SyncStatus.RUNNING,
        True,
        None,
    )
    thread.join(timeout=30)
    run.refresh_from_db()
    assert run.status == SyncStatus.SUCCEEDED and run.started_at <= run.finished_at


def test_many_failures_are_all_counted_and_marked_but_the_run_lists_a_bounded_number(
    acs_resource, fabrikam, cloudsim_clean, monkeypatch
):
    from assignments import sync

    monkeypatch.setattr(sync, "ERRORS_KEPT", 3)
    make(acs_resource, fabrikam, 10)
    Assignment.objects.bulk_create(
        Assignment(
            resource=acs_resource,
            tenant=fabrikam,
            principal_type="tenant",
            object_id=uuid.UUID(int=1000 + i),  # a tenant assignment must use the tenant id
            client_ids=[APP],
        )
        for i in range(8)
    )
    run = sync_now(acs_resource)
    assert (run.status, run.created, run.failed, run.done) == (SyncStatus.PARTIAL, 10, 8, 18)
    assert len(run.errors) == 3 and run.message == "8 of 18 changes failed."
    failed = Assignment.objects.filter(principal_type="tenant")
    assert {(a.sync_state, "tenantId" in a.last_error) for a in failed} == {
        (SyncState.FAILED, True)
    }
