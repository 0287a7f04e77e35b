"""Audit events are never changed or deleted: the model refuses, and on PostgreSQL the database."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from audit.actions import Action
from audit.models import AppendOnlyError, AuditEvent
from audit.services import Actor, record_event
from tenants.models import CustomerTenant

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists only on PostgreSQL (SQLite relies on the ORM guards)",
)


@pytest.fixture
def event(db):
    return record_event(actor=Actor.system(), action=Action.TENANT_CREATED, target_label="Fabrikam")


def test_saving_an_existing_event_is_refused(event):
    event.target_label = "Forged"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get().target_label == "Fabrikam"


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.count() == 1


def test_queryset_update_and_delete_are_refused(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(target_label="Forged")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().target_label == "Fabrikam"


def test_bulk_update_is_refused(event):
    event.target_label = "Forged"
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["target_label"])
    assert AuditEvent.objects.get().target_label == "Fabrikam"


def test_deleting_the_actor_or_tenant_leaves_events_untouched(make_user):
    user = make_user("leaver@contoso.example")
    tenant = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Fabrikam")
    with transaction.atomic():
        record_event(
            actor=Actor.operator(user), action=Action.TENANT_CREATED, target=tenant, tenant=tenant
        )
    user_pk = user.pk
    user.delete()
    tenant.delete()
    event = AuditEvent.objects.get()
    assert (event.actor_label, event.tenant_label, event.target_label) == (
        "leaver@contoso.example",
        "Fabrikam",
        "Fabrikam",
    )
    assert event.actor_id == user_pk  # kept, dangling: nothing rewrote the row


@on_postgresql
def test_raw_sql_update_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET target_label = 'Forged'")
    assert AuditEvent.objects.get().target_label == "Fabrikam"


@on_postgresql
def test_raw_sql_delete_is_refused_by_the_trigger(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


@on_postgresql
def test_update_is_refused_even_on_the_retention_path(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL audit.retention = 'on'")
        cursor.execute("UPDATE audit_auditevent SET target_label = 'Forged'")
    assert AuditEvent.objects.get().target_label == "Fabrikam"


@on_postgresql
def test_a_delete_after_switching_the_old_retention_setting_on_is_refused(event):
    # The reported hole: BEGIN; SET LOCAL audit.retention = 'on'; DELETE ... removed a fresh
    # event without trace, whoever sent it.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL audit.retention = 'on'")
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1


@on_postgresql
def test_the_orm_retention_path_is_closed_on_postgresql(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk)._archive_delete()
    assert AuditEvent.objects.count() == 1


# --- as the portal's own database role (DATABASE_APP_USER), what web and workers run as -----
@pytest.fixture
def as_app_role(transactional_db, settings):
    """A connection to the test database as the app role, the way compose's web connects."""
    import psycopg

    s = connection.settings_dict
    app = psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        dbname=s["NAME"],
        user=settings.DATABASE_APP_USER,
        password=settings.DATABASE_APP_PASSWORD or None,
        autocommit=True,
    )
    yield app
    app.close()


def _refused(app, *statements: str) -> str:
    import psycopg

    with pytest.raises(psycopg.Error) as failure, app.transaction(), app.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return str(failure.value)


@on_postgresql
def test_the_app_role_cannot_change_delete_truncate_or_unguard_events(as_app_role):
    fresh = record_event(
        actor=Actor.system(), action=Action.TENANT_CREATED, target_label="Fabrikam"
    )
    with as_app_role.cursor() as cursor:  # the role reads and appends like the portal does
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        assert cursor.fetchone()[0] == 1
    assert "permission denied" in _refused(
        as_app_role, "UPDATE audit_auditevent SET target_label = 'Forged'"
    )
    assert "permission denied" in _refused(as_app_role, "DELETE FROM audit_auditevent")
    assert "permission denied" in _refused(
        as_app_role, "SET LOCAL audit.retention = 'on'", "DELETE FROM audit_auditevent"
    )
    assert "permission denied" in _refused(as_app_role, "TRUNCATE audit_auditevent")
    assert "must be owner" in _refused(
        as_app_role, "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only"
    )
    assert "must be owner" in _refused(
        as_app_role, "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL"
    )
    assert list(AuditEvent.objects.values_list("pk", "target_label")) == [(fresh.pk, "Fabrikam")]


@on_postgresql
def test_the_retention_function_deletes_no_fresh_event_whatever_the_app_role_claims(as_app_role):
    fresh = record_event(
        actor=Actor.system(), action=Action.TENANT_CREATED, target_label="Fabrikam"
    )
    forged = (
        "INSERT INTO audit_retentionbatch"
        " (created_at, cutoff, first_id, last_id, archive, archived)"
        " VALUES (now(), now() + interval '1 day', 0, 1000000000, 'forged', 0) RETURNING id"
    )
    with as_app_role.cursor() as cursor:
        cursor.execute(forged)
        batch = cursor.fetchone()[0]
    assert "younger than the retention" in _refused(
        as_app_role, f"SELECT audit_delete_archived({batch})"
    )
    assert re.search(
        "permission denied|must be owner",
        _refused(
            as_app_role,
            "CREATE OR REPLACE FUNCTION audit_delete_archived(batch_id bigint) RETURNS bigint"
            " LANGUAGE sql AS 'SELECT 0::bigint'",
        ),
    )
    assert "permission denied" in _refused(as_app_role, "SET ROLE portal_audit_retention")
    assert AuditEvent.objects.filter(pk=fresh.pk).exists()
