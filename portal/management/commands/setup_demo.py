"""Prepare the demo: operators for each role (credentials printed once) and demo data hooks."""

from __future__ import annotations

import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import Actor
from portal.demo import password_reset_command
from portal.models import Role, User
from portal.services import create_operator

DEMO_OPERATORS = [
    ("admin@contoso.example", Role.ADMIN, "Dana Admin"),
    ("operator@contoso.example", Role.OPERATOR, "Omar Operator"),
    ("auditor@contoso.example", Role.AUDITOR, "Aiko Auditor"),
]


class Command(BaseCommand):
    help = "Create the demo operators (once) and print their credentials."

    def handle(self, *args, **options):
        actor = Actor.system("make run")
        created = []
        for email, role, name in DEMO_OPERATORS:
            if User.objects.filter(email=email).exists():
                continue
            user, password = create_operator(actor=actor, email=email, role=role, display_name=name)
            created.append((user, password))
        if created:
            self.stdout.write(self.style.SUCCESS("Demo operators (passwords shown once):"))
            for user, password in created:
                self.stdout.write(f"  {user.get_role_display():9} {user.email:28} {password}")
        else:
            emails = ", ".join(email for email, _role, _name in DEMO_OPERATORS)
            self.stdout.write(
                "Demo operators exist already (passwords were printed on first run). "
                "Reset one with:"
            )
            self.stdout.write(f"  {password_reset_command(settings.VAR_DIR, os.environ)}")
            self.stdout.write(f"  EMAIL: {emails}")
        # Each app may prepare its own demo data (idempotent): AppConfig.setup_demo(stdout).
        for app_config in apps.get_app_configs():
            hook = getattr(app_config, "setup_demo", None)
            if hook:
                hook(self.stdout)
