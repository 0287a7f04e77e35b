"""Portal users. Operators sign in with a local account (with MFA) or Microsoft (home tenant)."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    OPERATOR = "operator", _("Operator")
    AUDITOR = "auditor", _("Auditor")


class PortalUserManager(UserManager):
    use_in_migrations = True

    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, username=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(None, email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        extra_fields.setdefault("role", Role.ADMIN)
        return self._create_user(None, email, password, **extra_fields)


class User(AbstractUser):
    """A portal operator. ``role`` decides what they may see and change."""

    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AUDITOR)
    display_name = models.CharField(max_length=200, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []
    objects: ClassVar[PortalUserManager] = PortalUserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name or self.email

    def save(self, *args, **kwargs):
        self.email = (self.email or "").lower()
        self.username = self.email
        super().save(*args, **kwargs)

    @property
    def can_write(self) -> bool:
        return self.is_active and self.role in (Role.ADMIN, Role.OPERATOR)

    @property
    def is_portal_admin(self) -> bool:
        return self.is_active and self.role == Role.ADMIN


class RateLimitWindow(models.Model):
    """Hits of one client on one scope in one fixed window (``tenants/ratelimit.py``).

    In the database rather than the cache: the demo's file cache cannot count atomically, and
    the pages it guards must keep answering when Redis is down.
    """

    scope = models.CharField(max_length=32)
    ident = models.CharField(max_length=64)
    window = models.BigIntegerField(db_index=True)
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "ident", "window"], name="ratelimit_one_row_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.ident} @{self.window}: {self.hits}"
