"""Subscriptions, webhook endpoints, deliveries and their attempts, consent reminders."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class WebhookEndpoint(models.Model):
    """A URL that receives signed events (Standard Webhooks).

    The signing secret is stored encrypted (``notifications.secrets``) because signing needs it;
    it is shown once when made. After a rotation the previous secret signs too until
    ``previous_secret_until``, so receivers can switch without losing events.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    enabled = models.BooleanField(default=True)
    secret_encrypted = models.TextField()
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def shown_url(self) -> str:
        """The URL without its path and query, which often carry a token (chat and ticketing
        webhooks): what audit events and read-only pages show."""
        parts = urlsplit(self.url)
        rest = "/…" if (parts.path.strip("/") or parts.query) else ""
        return f"{parts.scheme}://{parts.netloc}{rest}"


class Subscription(models.Model):
    """Which event kinds reach whom: an operator's email, or a webhook endpoint.

    Empty ``tenants`` / ``resources`` mean every tenant / resource; an event without a tenant
    (or resource) passes that filter.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_subscription",
    )
    endpoint = models.OneToOneField(
        WebhookEndpoint,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscription",
    )
    kinds = models.JSONField(default=list, blank=True)
    tenants = models.ManyToManyField("tenants.CustomerTenant", blank=True, related_name="+")
    resources = models.ManyToManyField("assignments.AcsResource", blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, endpoint__isnull=True)
                | Q(user__isnull=True, endpoint__isnull=False),
                name="subscription_has_one_channel",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user or self.endpoint}: {', '.join(self.kinds) or 'nothing'}"

    @property
    def channel(self) -> str:
        return Channel.EMAIL if self.user_id else Channel.WEBHOOK


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


def _message_id() -> str:
    # Standard Webhooks: the id is the same on every retry, so receivers can de-duplicate.
    return f"msg_{uuid.uuid4().hex}"


class Delivery(models.Model):
    """One event (or test ping) for one subscriber, tried until delivered or given up."""

    message_id = models.CharField(max_length=40, unique=True, default=_message_id)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(max_length=40)
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # No constraint: audit retention deletes old events, the payload keeps what was sent.
    event = models.ForeignKey(
        "audit.AuditEvent",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set while a worker holds the delivery (a conditional UPDATE claims it).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="one_delivery_per_event_and_endpoint"
            ),
            models.UniqueConstraint(
                fields=["event", "recipient"], name="one_delivery_per_event_and_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.endpoint or self.recipient} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try: what came back and how long it took (never the body or the signature)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"Attempt at {self.at:%Y-%m-%d %H:%M:%S} ({'ok' if self.ok else 'failed'})"


class ReminderStep(models.TextChoices):
    AFTER = "after", "After"
    BEFORE_EXPIRY = "before_expiry", "Before expiry"


class ConsentReminder(models.Model):
    """A reminder email sent to a consent link's admin address (one row per schedule step)."""

    link = models.ForeignKey(
        "tenants.ConsentLink", on_delete=models.CASCADE, related_name="reminders"
    )
    step = models.CharField(max_length=20)  # "after:2", "before_expiry:1"
    sent_at = models.DateTimeField(auto_now_add=True)
    to = models.EmailField()

    class Meta:
        ordering = ["sent_at"]
        constraints = [
            models.UniqueConstraint(fields=["link", "step"], name="one_reminder_per_step")
        ]

    def __str__(self) -> str:
        return f"Reminder {self.step} to {self.to}"


class ReminderStop(models.Model):
    """An operator stopped a link's reminders."""

    link = models.OneToOneField(
        "tenants.ConsentLink", on_delete=models.CASCADE, related_name="reminder_stop"
    )
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Reminders stopped for link {self.link_id}"
