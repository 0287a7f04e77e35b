"""Audit events are never changed or deleted: the model refuses, and on PostgreSQL the database."""

from __future__ import annotations

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
def test_privileged_delete_switches_the_setting_off_again(event):
    other = record_event(actor=Actor.system(), action=Action.TENANT_CREATED)
    with transaction.atomic():
        assert AuditEvent.objects.filter(pk=event.pk)._archive_delete() == 1
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent")
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [other.pk]
