"""The append-only audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import connections, models

from audit.actions import Action
from portal.choices import ChoiceLabels


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")

    def _archive_delete(self) -> int:
        """Delete for retention only (``audit.services.apply_retention``), where the database
        has no roles: SQLite. On PostgreSQL the portal's role cannot delete events at all;
        retention goes through ``audit_delete_archived`` (audit/db_roles.py)."""
        if connections[self.db].vendor == "postgresql":
            raise AppendOnlyError(
                "On PostgreSQL, events are deleted only by audit_delete_archived."
            )
        return models.QuerySet.delete(self)[0]


class ActorType(models.TextChoices):
    OPERATOR = "operator", "Operator"
    CUSTOMER_ADMIN = "customer-admin", "Customer admin"
    SYSTEM = "system", "System"


class AuditEvent(ChoiceLabels, models.Model):
    """One thing that happened: who did what to which target, and what Microsoft said."""

    at = models.DateTimeField()  # indexed with id in ``audit_at_id``
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    # DO_NOTHING without a database constraint: deleting a user or a tenant must not rewrite
    # events (SET_NULL is an UPDATE, which the guards and the PostgreSQL trigger refuse). The
    # labels keep who and which tenant; a dangling id simply no longer links anywhere.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=64, choices=Action.choices, db_index=True)
    target_type = models.CharField(max_length=40, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    tenant = models.ForeignKey(
        "tenants.CustomerTenant",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="audit_events",
        db_constraint=False,
    )
    tenant_label = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_id"),
            models.Index(fields=["tenant", "-at", "-id"], name="audit_tenant_at"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_at"),
            models.Index(fields=["target_type", "target_id", "-at", "-id"], name="audit_target_at"),
            models.Index(fields=["actor_label", "-at", "-id"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Audit events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")


class RetentionBatch(models.Model):
    """One batch of retention: the events it archives (``first_id``..``last_id`` older than
    ``cutoff``), the archive file, and when they were deleted.

    Written before the archive, so a run killed at any point is finished by the next one with
    the same rows and the same file: no event is archived twice. On PostgreSQL the database's
    ``audit_delete_archived(batch)`` deletes only what a batch names, and only when its cut-off
    is older than the retention configured at the last migrate.
    """

    created_at = models.DateTimeField()
    cutoff = models.DateTimeField()
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    archive = models.CharField(max_length=200)
    archived = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(null=True)
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"retention batch {self.pk}: events {self.first_id}..{self.last_id}"
