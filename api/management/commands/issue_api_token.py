"""Issue an API token from the command line (bootstrap an automation; printed once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api import tokens
from api.models import Scope
from audit.services import Actor
from portal.models import User


class Command(BaseCommand):
    help = "Issue an API token for an operator and print it (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The operator who owns the token.")
        parser.add_argument("--name", default="command line", help="What uses the token.")
        parser.add_argument("--scope", choices=Scope.values, default=Scope.READ)
        parser.add_argument("--days", type=int, default=tokens.DEFAULT_DAYS)

    def handle(self, *args, email, name, scope, days, **options):
        owner = User.objects.filter(email=email.strip().lower()).first()
        if owner is None:
            raise CommandError(f"No operator {email}.")
        try:
            issued = tokens.issue_token(
                actor=Actor.system("manage.py issue_api_token"),
                owner=owner,
                name=name,
                scope=scope,
                days=days,
            )
        except tokens.TokenError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(issued.secret)
