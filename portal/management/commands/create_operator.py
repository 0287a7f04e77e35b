"""Create an operator account: ``manage.py create_operator EMAIL --role operator``."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from portal.models import Role
from portal.services import OperatorError, create_operator


class Command(BaseCommand):
    help = "Create a portal operator. Prints a generated password once unless --password is given."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", choices=Role.values, default=Role.OPERATOR)
        parser.add_argument("--name", default="")
        parser.add_argument("--password", default=None)

    def handle(self, *args, email, role, name, password, **options):
        try:
            user, generated = create_operator(
                actor=Actor.system("manage.py create_operator"),
                email=email,
                role=role,
                display_name=name,
                password=password,
            )
        except OperatorError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.get_role_display()} {user.email}"))
        if generated:
            self.stdout.write(f"Password (shown once): {generated}")
