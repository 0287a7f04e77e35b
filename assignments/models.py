"""ACS resources, the assignments the portal wants on them, and sync runs."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import ChoiceLabels


class AuthMethod(models.TextChoices):
    ACCESS_KEY = "key", _("Access key (HMAC)")
    ENTRA = "entra", _("Entra ID client credentials")


class AcsResource(ChoiceLabels, models.Model):
    """An ACS resource. Its access key is never stored: ``key_env_var`` names where to read it."""

    name = models.CharField(max_length=100, unique=True)
    endpoint = models.URLField(max_length=300)
    auth_method = models.CharField(
        max_length=8, choices=AuthMethod.choices, default=AuthMethod.ACCESS_KEY
    )
    key_env_var = models.CharField(
        max_length=100, blank=True, help_text="Environment variable holding the access key."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True)
    # The sync lock: a run claims the resource with a conditional update; the lock expires.
    sync_locked_until = models.DateTimeField(null=True, blank=True)
    sync_locked_by = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PrincipalType(models.TextChoices):
    USER = "user", "User"
    GROUP = "group", "Group"
    TENANT = "tenant", "Tenant"


class Desired(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")


class SyncState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SYNCED = "synced", _("Synced")
    FAILED = "failed", _("Failed")
    # Was synced, then removed or changed on the resource outside the portal; a run restores it.
    DRIFTED = "drifted", _("Drifted")


class Assignment(ChoiceLabels, models.Model):
    """A principal allowed to exchange Entra tokens for ACS tokens on one resource.

    ACS keys assignments by object id alone, hence unique per (resource, object_id).
    For ``tenant`` assignments the object id is the tenant id.
    """

    resource = models.ForeignKey(AcsResource, on_delete=models.CASCADE, related_name="assignments")
    tenant = models.ForeignKey(
        "tenants.CustomerTenant", on_delete=models.PROTECT, related_name="assignments"
    )
    principal_type = models.CharField(max_length=8, choices=PrincipalType.choices)
    object_id = models.UUIDField()
    display_name = models.CharField(max_length=256, blank=True)
    client_ids = models.JSONField(default=list)
    desired = models.CharField(max_length=8, choices=Desired.choices, default=Desired.PRESENT)
    # Rewritten for every assignment a sync changes, so deliberately in no index: PostgreSQL can
    # then update the row in place (a HOT update, with the table's fillfactor leaving room)
    # instead of adding an entry to each of its indexes (migration 0005; bench/sync.py).
    sync_state = models.CharField(
        max_length=8, choices=SyncState.choices, default=SyncState.PENDING
    )
    adopted = models.BooleanField(default=False)
    override_unverified = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["resource", "principal_type", "display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "object_id"], name="unique_assignment_per_resource"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_principal_type_display()} {self.display_name or self.object_id}"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Partially failed")
    FAILED = "failed", _("Failed")


class WaitKind(models.TextChoices):
    """Why a running sync waits before sending again (``assignments.breaker``)."""

    THROTTLED = "throttled", "Throttled by ACS (429, Retry-After)"
    SERVER_ERROR = "server_error", "ACS server errors (5xx)"
    UNREACHABLE = "unreachable", "ACS unreachable (timeouts, connections)"


class RetryWait(NamedTuple):
    """What a running sync waits for: sending resumes at ``until``; ``reason`` in words."""

    until: datetime
    reason: str
    kind: str  # a WaitKind value


class SyncRun(ChoiceLabels, models.Model):
    """One reconciliation of a resource: counts, progress and every failure with its reason."""

    resource = models.ForeignKey(AcsResource, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=16)  # change | manual | periodic
    status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(auto_now_add=True)
    # The run row is the outbox: it is committed first, its task is sent afterwards. When the
    # task last reached the broker; empty means not yet (broker down), and the relay sends it.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    planned = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    drift = models.PositiveIntegerField(default=0)
    # Entries the portal had synced, found removed or changed on the resource and put back.
    restored = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    # While sending waits for the resource (its circuit is open: 503s, 429 Retry-After): until
    # when, and why. Shown on the run page with a countdown.
    waiting_until = models.DateTimeField(null=True, blank=True)
    wait_reason = models.CharField(max_length=300, blank=True)
    wait_kind = models.CharField(max_length=16, choices=WaitKind.choices, blank=True)

    class Meta:
        ordering = ["-queued_at", "-id"]

    def __str__(self) -> str:
        return f"Sync of {self.resource} #{self.pk} ({self.status})"

    @property
    def waiting(self) -> RetryWait | None:
        """``RetryWait(until, reason, kind)`` while the run waits to send again, else None.

        Set by the sync while its requests wait out a 429's Retry-After, or a pause after
        repeated server errors or unreachable connections (the circuit breaker is open); cleared
        as soon as sending resumes, and when the run ends. ``until`` is when it resumes (for a
        countdown), ``reason`` says why in words (the status and the resource's own message),
        ``kind`` is a ``WaitKind``. None as well once ``until`` has passed: the run is sending.
        """
        from django.utils import timezone

        if self.status != SyncStatus.RUNNING or self.waiting_until is None:
            return None
        if self.waiting_until <= timezone.now():
            return None
        return RetryWait(self.waiting_until, self.wait_reason, self.wait_kind)

    @property
    def wait_text(self) -> str:
        """ "Waiting 23 s before retrying: …" while the sending waits, else empty."""
        from django.utils import timezone

        waiting = self.waiting
        if waiting is None:
            return ""
        left = (waiting.until - timezone.now()).total_seconds()
        return f"Waiting {left:.0f} s before retrying: {waiting.reason}"

    @property
    def in_sync(self) -> bool:
        """The run ended with the resource as the database wants it and nothing unknown on it:
        succeeded, and no drift (remote entries the portal did not make) left."""
        return self.status == SyncStatus.SUCCEEDED and not self.failed and not self.drift

    @property
    def progress_percent(self) -> int:
        if self.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL, SyncStatus.FAILED):
            return 100
        return int(100 * self.done / self.planned) if self.planned else 0


class DriftEntry(ChoiceLabels, models.Model):
    """A remote assignment the portal did not make and does not know, seen by the last sync.

    Nothing touches it remotely until an operator adopts it (it becomes an Assignment) or asks
    for its removal (``remove_requested``: the next sync deletes it remotely, then this row).
    """

    resource = models.ForeignKey(AcsResource, on_delete=models.CASCADE, related_name="drift")
    object_id = models.UUIDField()
    tenant_id = models.CharField(max_length=64, blank=True)
    principal_type = models.CharField(max_length=16, blank=True)
    # Read through Graph the first time a page shows it (``assignments.names``); blank = unknown.
    display_name = models.CharField(max_length=256, blank=True)
    client_ids = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    remove_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["resource", "object_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resource", "object_id"], name="unique_drift_per_resource"
            )
        ]

    def __str__(self) -> str:
        return f"Remote {self.principal_type or 'assignment'} {self.object_id} on {self.resource}"
