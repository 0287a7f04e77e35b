"""Customer tenants, their consent links, consent checks and groups."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.choices import ChoiceLabels


class TenantStatus(models.TextChoices):
    """The states of tenants/lifecycle.py (its table says which events move between them)."""

    REGISTERED = "registered", _("Registered")
    INVITED = "invited", _("Invited")
    CONSENTED = "consented", _("Consented")
    VERIFIED = "verified", _("Verified")
    ATTENTION = "attention", _("Needs attention")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")
    OFFBOARDING = "offboarding", _("Offboarding")
    OFFBOARDED = "offboarded", _("Offboarded")


class VerificationLevel(models.TextChoices):
    """What consent asks and so what can be checked (docs/microsoft/consent-roles.md)."""

    STANDARD = "standard", _("Standard")
    DEEP = "deep", _("Deep")


def level_field() -> models.CharField:
    return models.CharField(
        max_length=8, choices=VerificationLevel.choices, default=VerificationLevel.DEEP
    )


class CustomerTenant(ChoiceLabels, models.Model):
    """An Entra ID tenant whose users may exchange Entra tokens for ACS tokens.

    The operator's home tenant is a CustomerTenant too (``is_home``), for single-tenant operators.
    """

    tenant_id = models.UUIDField(unique=True)
    display_name = models.CharField(max_length=256, blank=True)
    # The organization's name as Graph last gave it; it replaces ``display_name`` only while
    # the operator has not typed a name of their own (``name_from_operator``).
    graph_name = models.CharField(max_length=256, blank=True)
    name_from_operator = models.BooleanField(default=False)
    primary_domain = models.CharField(max_length=256, blank=True)
    verified_domains = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=TenantStatus.choices, default=TenantStatus.REGISTERED, db_index=True
    )
    is_home = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    last_verified_at = models.DateTimeField(null=True, blank=True)
    # The level of the last consent granted: it decides which checks can run.
    verification_level = level_field()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["display_name", "tenant_id"]
        indexes = [
            models.Index(fields=["status", "display_name"], name="tenant_status_name"),
            # The tenant list's order (``ordering``): its pages read 50 rows, not sort 10,000.
            models.Index(fields=["display_name", "tenant_id"], name="tenant_name_order"),
        ]

    def __str__(self) -> str:
        return self.display_name or self.primary_domain or str(self.tenant_id)


class ConsentOutcome(models.TextChoices):
    GRANTED = "granted", _("Granted")
    DECLINED = "declined", _("Declined")
    ERROR = "error", _("Error")


class ConsentLink(ChoiceLabels, models.Model):
    """A link the operator sends to a customer admin. Only the token's SHA-256 is stored."""

    tenant = models.ForeignKey(
        CustomerTenant, on_delete=models.CASCADE, related_name="consent_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    admin_email = models.EmailField(blank=True)
    note = models.CharField(max_length=500, blank=True)
    consent_version = models.CharField(
        max_length=2,
        choices=[("v1", "v1 (app registration)"), ("v2", "v2 (.default scope)")],
        default="v1",
    )
    verification_level = level_field()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The nonce of the one `state` currently out at Microsoft: a callback must carry it, and
    # handling the callback clears it, so a replayed state is refused.
    state_nonce = models.CharField(max_length=64, blank=True)
    state_issued_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=ConsentOutcome.choices, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_subcode = models.CharField(max_length=100, blank=True)
    error_description = models.TextField(blank=True)
    # The scopes a v2 answer echoed on success (space-separated, as Entra sends them).
    granted_scopes = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Consent link for {self.tenant} ({self.created_at:%Y-%m-%d})"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()

    @property
    def unavailable_reason(self) -> str:
        """Why the link can no longer be used ('' when it can)."""
        if self.revoked_at:
            return "revoked"
        if self.used_at:
            return "used"
        if self.is_expired:
            return "expired"
        return ""


class CheckTrigger(models.TextChoices):
    CALLBACK = "callback", "After consent"
    MANUAL = "manual", "Verify now"
    PERIODIC = "periodic", "Periodic"


class ConsentCheck(ChoiceLabels, models.Model):
    """One verification of a tenant through Graph: findings = [{check, ok, detail, remedy}]."""

    tenant = models.ForeignKey(CustomerTenant, on_delete=models.CASCADE, related_name="checks")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    trigger = models.CharField(max_length=16, choices=CheckTrigger.choices)
    level = level_field()
    ok = models.BooleanField(default=False)
    # Microsoft could not answer (429, 5xx, timeout): no verdict, the status was kept.
    unknown = models.BooleanField(default=False)
    findings = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "unknown" if self.unknown else "failed"
        return f"Check of {self.tenant} at {self.at:%Y-%m-%d %H:%M} ({verdict})"


class CustomerGroup(ChoiceLabels, models.Model):
    """A group of a customer tenant that the operator picked from Graph."""

    tenant = models.ForeignKey(CustomerTenant, on_delete=models.CASCADE, related_name="groups")
    object_id = models.UUIDField()
    display_name = models.CharField(max_length=256)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "object_id"], name="unique_group_per_tenant")
        ]

    def __str__(self) -> str:
        return self.display_name


class UserTest(ChoiceLabels, models.Model):
    """A customer user's test: sign in with the VoIP scope, then one token exchange at ACS.

    Only the outcome is kept: the user's tokens are used once and never stored.
    """

    tenant = models.ForeignKey(CustomerTenant, on_delete=models.CASCADE, related_name="user_tests")
    link = models.ForeignKey(
        ConsentLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    user_upn = models.CharField(max_length=256, blank=True)
    user_oid = models.CharField(max_length=64, blank=True)
    signed_in = models.BooleanField(default=False)  # a token with the VoIP scope was issued
    resource = models.CharField(max_length=256, blank=True)
    exchanged = models.BooleanField(null=True)  # None: no exchange was attempted
    ok = models.BooleanField(default=False)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"User test of {self.tenant} at {self.at:%Y-%m-%d %H:%M}"
