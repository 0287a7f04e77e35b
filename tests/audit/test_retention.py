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
    reason="the append-only trigger and its retention function exist only on PostgreSQL",
)
def test_on_postgresql_retention_deletes_through_the_function_the_trigger_lets_pass(
    archive_dir, old_and_new
):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolname, p.prosecdef FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner"
            " WHERE p.proname = 'audit_delete_archived'"
        )
        assert cursor.fetchone() == ("portal_audit_retention", True)
    result = apply_retention(now=old_and_new)
    assert result.deleted == 7
    assert AuditEvent.objects.filter(target_label="recent").count() == 3


class Killed(BaseException):
    """The process dying (SIGKILL, OOM) between two steps: nothing after it runs."""


def test_a_run_killed_mid_way_is_audited_and_the_rerun_archives_nothing_twice(
    archive_dir, old_and_new, monkeypatch
):
    from audit import services

    old_ids = set(AuditEvent.objects.filter(target_label="old").values_list("pk", flat=True))
    monkeypatch.setattr(services, "RETENTION_BATCH", 3)
    real_delete, calls = services._delete_archived, []

    def killed_at_the_second_delete(batch):
        calls.append(batch.pk)
        if len(calls) == 2:
            raise Killed  # after batch 2's archive was written, before its delete
        return real_delete(batch)

    monkeypatch.setattr(services, "_delete_archived", killed_at_the_second_delete)
    with pytest.raises(Killed):
        apply_retention(now=old_and_new)
    # What the killed run deleted is on the record, with the ids it covered.
    (first,) = AuditEvent.objects.filter(action=Action.AUDIT_RETENTION_APPLIED)
    assert first.details["deleted"] == 3
    gone = old_ids - set(AuditEvent.objects.values_list("pk", flat=True))
    assert len(gone) == 3
    assert all(first.details["first_id"] <= pk <= first.details["last_id"] for pk in gone)
    files = sorted(archive_dir.iterdir())
    assert len(files) == 2  # batch 2's archive was complete when the run died
    second_file_written = files[1].stat().st_mtime_ns

    monkeypatch.setattr(services, "_delete_archived", real_delete)
    rerun = apply_retention(now=old_and_new)
    assert rerun.deleted == 4
    assert files[1].stat().st_mtime_ns == second_file_written  # finished, not written again
    archived_ids = [row["id"] for path in sorted(archive_dir.iterdir()) for row in _read(path)]
    assert sorted(archived_ids) == sorted(old_ids)  # every old event exactly once
    assert not AuditEvent.objects.filter(pk__in=old_ids).exists()
    events = AuditEvent.objects.filter(action=Action.AUDIT_RETENTION_APPLIED)
    assert sum(event.details["deleted"] for event in events) == 7
    assert not [path for path in archive_dir.iterdir() if path.name.endswith(".partial")]
