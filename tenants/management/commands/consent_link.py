from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from tenants import errors
from tenants.actions import consent
from tenants.management.commands._common import add_link_options, find_tenant


def issue(stdout, actor, tenant, opts) -> consent.IssuedLink:
    try:
        issued = consent.issue_consent_link(
            actor=actor,
            tenant=tenant,
            admin_email=opts["email"],
            note=opts["note"],
            days=opts["days"],
            version=opts["consent_version"],
        )
        if opts["send"]:
            to = consent.email_consent_link(actor=actor, link=issued.link, token=issued.token)
            stdout.write(f"Emailed to {to}.")
    except errors.TenantError as error:
        raise CommandError(str(error)) from error
    stdout.write(
        f"Consent link (valid until {issued.link.expires_at:%Y-%m-%d %H:%M} UTC; shown once):"
    )
    stdout.write(issued.url)
    return issued


class Command(BaseCommand):
    help = "Issue a consent link for a registered tenant and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="tenant id, domain or display name")
        parser.add_argument(
            "--revoke-open",
            action="store_true",
            help="revoke the tenant's links that are still open",
        )
        add_link_options(parser)

    def handle(self, *args, **opts):
        actor = Actor.system("manage.py consent_link")
        tenant = find_tenant(opts["tenant"])
        if opts["revoke_open"]:
            for link in tenant.consent_links.filter(revoked_at=None, used_at=None):
                consent.revoke_consent_link(actor=actor, link=link)
        issue(self.stdout, actor, tenant, opts)
