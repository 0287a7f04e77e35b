"""Operators changing the same assignment at the same time: no 500, no change lost unaudited."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from assignments.models import Assignment, Desired
from assignments.services import AssignmentError, add_assignment, remove_assignment
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids

OTHER_APP = "0bea7a00-0000-4000-8000-0000000000b2"


@pytest.mark.django_db
def test_removing_a_stale_copy_keeps_the_client_ids_another_operator_just_set(
    operator_user, fabrikam, offline_resource
):
    actor = Actor.operator(operator_user)
    kwargs = dict(actor=actor, resource=offline_resource, tenant=fabrikam, principal_type="user")
    stale = add_assignment(**kwargs, object_id=ids.FABRIKAM_ADELE, client_ids=[ids.OPERATOR_APP_ID])
    # Another operator changes the client ids while this page still shows the old row.
    add_assignment(**kwargs, object_id=ids.FABRIKAM_ADELE, client_ids=[OTHER_APP])
    remove_assignment(actor=actor, assignment=stale)
    row = Assignment.objects.get()
    assert (row.desired, row.client_ids) == (Desired.ABSENT, [OTHER_APP])
    removed = AuditEvent.objects.get(action="assignment.removed")
    assert removed.details["client_ids"] == [OTHER_APP]


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_adds_of_one_new_user_add_it_once_and_refuse_the_rest(
    operator_user, fabrikam, offline_resource
):
    actor = Actor.operator(operator_user)
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def add() -> None:
        try:
            start.wait()
            add_assignment(
                actor=actor,
                resource=offline_resource,
                tenant=fabrikam,
                principal_type="user",
                object_id=ids.FABRIKAM_ADELE,
                client_ids=[ids.OPERATOR_APP_ID],
            )
            outcomes.append("added")
        except AssignmentError as exc:
            outcomes.append("refused" if "already assigned" in str(exc) else repr(exc))
        except Exception as exc:  # an IntegrityError here is the 500 the operator saw
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["added"] + ["refused"] * 9
    assert Assignment.objects.count() == 1
    assert AuditEvent.objects.filter(action="assignment.added").count() == 1
