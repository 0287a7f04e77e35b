"""Retention archives old events to a gzipped JSON-lines file, then deletes them; audited."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import apply_retention

from .helpers import make_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive_dir(settings, tmp_path):
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "audit-archive"
    settings.AUDIT_RETENTION_DAYS = 400
    return settings.AUDIT_ARCHIVE_DIR


@pytest.fixture
def old_and_new():
    now = timezone.now()
    make_events(7, start=now - timedelta(days=500), same_time_every=2, target_label="old")
    make_events(3, start=now - timedelta(days=10), target_label="recent")
    return now


def _read(path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as archive:
        return [json.loads(line) for line in archive]


def test_old_events_are_archived_then_deleted_and_the_run_is_recorded(archive_dir, old_and_new):
    old_ids = set(AuditEvent.objects.filter(target_label="old").values_list("pk", flat=True))
    result = apply_retention(now=old_and_new)
    assert (result.archived, result.deleted) == (7, 7)
    archived = _read(archive_dir / result.archive)
    assert {row["id"] for row in archived} == old_ids
    assert [row["at"] for row in archived] == sorted(row["at"] for row in archived)
    assert archived[0]["target_label"] == "old" and archived[0]["details"] == {"n": 0}
    assert not AuditEvent.objects.filter(pk__in=old_ids).exists()
    assert AuditEvent.objects.filter(target_label="recent").count() == 3
    event = AuditEvent.objects.get(action=Action.AUDIT_RETENTION_APPLIED)
    assert event.actor_label == "retention"
    assert event.details["archived"] == event.details["deleted"] == 7
    assert event.details["archive"] == result.archive
    assert event.details["retention_days"] == 400
    assert list(archive_dir.iterdir()) == [archive_dir / result.archive]  # no partial file


def test_a_second_run_finds_nothing_and_writes_no_file(archive_dir, old_and_new):
    apply_retention(now=old_and_new)
    again = apply_retention(now=old_and_new)
    assert (again.archived, again.deleted, again.archive) == (0, 0, "")
    assert len(list(archive_dir.iterdir())) == 1
    assert AuditEvent.objects.filter(action=Action.AUDIT_RETENTION_APPLIED).count() == 2


def test_the_beat_task_runs_the_service(archive_dir, old_and_new):
    from audit.tasks import apply_retention as task

    assert task.name == "audit.tasks.apply_retention"
    outcome = task.apply().get()
    assert outcome["archived"] == outcome["deleted"] == 7
    assert (archive_dir / outcome["archive"]).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger and its retention path exist only on PostgreSQL",
)
def test_on_postgresql_retention_passes_the_trigger_that_refuses_other_deletes(
    archive_dir, old_and_new
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_event_append_only'")
        assert cursor.fetchone()[0] == 1
    result = apply_retention(now=old_and_new)
    assert result.deleted == 7
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('audit.retention', true)")
        assert cursor.fetchone()[0] in (None, "", "off")
