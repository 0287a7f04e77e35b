"""API tokens of operators, and the first answers of idempotent POSTs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiToken(models.Model):
    """A bearer token of one operator. Only the SHA-256 of the secret is stored.

    The token reads ``acsp_<prefix>_<secret>``: ``prefix`` finds the row, the hash of the whole
    token proves it. A token acts with its owner's role at the moment of use, narrowed by its
    scope (a read token never writes, whoever owns it).
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """active, expired or revoked."""
        if self.revoked_at:
            return "revoked"
        return "expired" if self.is_expired else "active"

    @property
    def can_write(self) -> bool:
        return self.scope == Scope.WRITE


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an ``Idempotency-Key``, per client.

    The row is created (unique per client and key) before the request runs, so a concurrent
    duplicate finds it and is refused instead of running a second time; the answer is stored
    when the first request finishes. ``client`` is ``token:<id>`` or ``user:<id>``.
    """

    client = models.CharField(max_length=40)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_key_per_client")
        ]

    def __str__(self) -> str:
        return f"{self.client} {self.key}"
