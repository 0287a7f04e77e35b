from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from tenants import errors
from tenants.actions import registration
from tenants.management.commands._common import add_link_options


class Command(BaseCommand):
    help = "Register a tenant by id or verified domain; optionally issue a consent link."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant id (GUID) or verified domain")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--notes", default="")
        parser.add_argument("--link", action="store_true", help="also issue a consent link")
        add_link_options(parser)

    def handle(self, *args, **opts):
        actor = Actor.system("manage.py onboard_tenant")
        try:
            tenant = registration.register_tenant(
                actor=actor,
                tenant_ref=opts["tenant"],
                display_name=opts["name"],
                notes=opts["notes"],
            )
        except errors.TenantError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Registered {tenant} ({tenant.tenant_id})."))
        if opts["link"] or opts["send"]:
            from tenants.management.commands.consent_link import issue

            issue(self.stdout, actor, tenant, opts)
