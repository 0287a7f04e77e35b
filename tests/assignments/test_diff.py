"""The sync plan: what to create, update, delete, leave alone, forget, and report as drift."""

from __future__ import annotations

from assignments.diff import LocalRow, OpKind, batches, plan_sync

T = "fab12ca7-0000-4000-8000-000000000002"
APP = "0bea7a00-0000-4000-8000-0000000000a1"
OTHER_APP = "0bea7a00-0000-4000-8000-0000000000b2"


def row(pk, oid, *, present=True, clients=(APP,), ptype="user", synced=False):
    return LocalRow(pk, oid, ptype, T, tuple(clients), present, synced)


def remote(oid, *, clients=(APP,), ptype="user", tenant=T):
    return {"objectId": oid, "tenantId": tenant, "principalType": ptype, "clientIds": list(clients)}


def test_missing_remotely_is_created_with_the_full_body():
    plan = plan_sync(local=[row(1, "a")], remote=[])
    assert [(op.kind, op.object_id, op.pk) for op in plan.ops] == [(OpKind.CREATE, "a", 1)]
    assert plan.ops[0].body == {"tenantId": T, "principalType": "user", "clientIds": [APP]}


def test_equal_entries_are_unchanged_whatever_the_case_and_order():
    local = [row(1, "A", clients=(APP, OTHER_APP))]
    plan = plan_sync(local=local, remote=[remote("a", clients=(OTHER_APP.upper(), APP))])
    assert plan.ops == [] and plan.unchanged == [1]


def test_different_client_ids_type_or_tenant_is_an_update():
    local = [row(1, "a"), row(2, "b", ptype="group"), row(3, "c")]
    rem = [
        remote("a", clients=(OTHER_APP,)),
        remote("b", ptype="user"),
        remote("c", tenant="00000000-0000-0000-0000-000000000001"),
    ]
    plan = plan_sync(local=local, remote=rem)
    assert [(op.kind, op.pk) for op in plan.ops] == [
        (OpKind.UPDATE, 1),
        (OpKind.UPDATE, 2),
        (OpKind.UPDATE, 3),
    ]


def test_absent_is_deleted_when_remote_and_forgotten_when_already_gone():
    plan = plan_sync(
        local=[row(1, "a", present=False), row(2, "b", present=False)], remote=[remote("a")]
    )
    assert [(op.kind, op.body, op.pk) for op in plan.ops] == [(OpKind.DELETE, None, 1)]
    assert plan.gone == [2]


def test_unknown_remote_entries_are_drift_and_left_alone():
    plan = plan_sync(local=[row(1, "a")], remote=[remote("a"), remote("x")])
    assert plan.ops == [] and [d["objectId"] for d in plan.drift] == ["x"]


def test_drift_marked_for_removal_is_deleted_or_forgotten():
    plan = plan_sync(local=[], remote=[remote("x")], drift_removals={"x": 7, "y": 8})
    assert [(op.kind, op.object_id, op.drift_pk, op.pk) for op in plan.ops] == [
        (OpKind.DELETE, "x", 7, None)
    ]
    assert plan.drift == [] and plan.drift_gone == [8]


def test_a_rerun_after_the_changes_landed_plans_nothing():
    local = [row(i, f"o{i}") for i in range(50)] + [row(99, "gone", present=False)]
    first = plan_sync(local=local, remote=[])
    landed = [{"objectId": op.object_id, **op.body} for op in first.ops if op.body]
    second = plan_sync(local=local, remote=landed)
    assert second.ops == [] and len(second.unchanged) == 50 and second.gone == [99]


def test_synced_entries_missing_or_changed_remotely_are_restored_and_reported():
    local = [
        row(1, "a", synced=True),  # removed on the resource outside the portal
        row(2, "b", synced=True, clients=(APP, OTHER_APP)),  # changed there
        row(3, "c", synced=True),  # as the portal left it
        row(4, "d"),  # never synced yet: a plain create
        row(5, "e", clients=(OTHER_APP,)),  # edited here since: a plain update
    ]
    plan = plan_sync(local=local, remote=[remote("b"), remote("c"), remote("e")])
    assert [(op.kind, op.pk) for op in plan.ops] == [
        (OpKind.CREATE, 1),
        (OpKind.UPDATE, 2),
        (OpKind.CREATE, 4),
        (OpKind.UPDATE, 5),
    ]
    assert plan.restored == [1, 2] and plan.unchanged == [3]


def test_duplicate_remote_entries_count_once():
    plan = plan_sync(local=[], remote=[remote("x"), remote("X")])
    assert len(plan.drift) == 1


def test_batches_split_by_size():
    plan = plan_sync(local=[row(i, f"o{i}") for i in range(250)], remote=[])
    assert [len(b) for b in batches(plan.ops, 100)] == [100, 100, 50]
    assert plan.count(OpKind.CREATE) == 250
