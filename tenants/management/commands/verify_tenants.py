from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from audit.services import Actor
from tenants.lifecycle import CONSENTING
from tenants.management.commands._common import find_tenant
from tenants.models import CheckTrigger, CustomerTenant
from tenants.verification import verify_consent


class Command(BaseCommand):
    help = "Verify tenants' consent through Graph now (default: every tenant that consented)."

    def add_arguments(self, parser):
        parser.add_argument("tenants", nargs="*", help="tenant ids, domains or names")
        parser.add_argument("--queue", action="store_true", help="queue Celery tasks instead")

    def handle(self, *args, **opts):
        if opts["tenants"]:
            tenants = [find_tenant(ref) for ref in opts["tenants"]]
        else:
            tenants = list(CustomerTenant.objects.filter(status__in=CONSENTING))
        if opts["queue"]:
            from tenants.tasks import verify_tenant

            for tenant in tenants:
                verify_tenant.delay(tenant.pk, CheckTrigger.MANUAL)
            self.stdout.write(
                ngettext(
                    "Queued %(count)d verification.",
                    "Queued %(count)d verifications.",
                    len(tenants),
                )
                % {"count": len(tenants)}
            )
            return
        failed = 0
        for tenant in tenants:
            check = verify_consent(
                tenant=tenant,
                trigger=CheckTrigger.MANUAL,
                actor=Actor.system("manage.py verify_tenants"),
            )
            tenant.refresh_from_db()
            style = self.style.SUCCESS if check.ok else self.style.ERROR
            self.stdout.write(
                style(f"{tenant} ({tenant.tenant_id}): {tenant.get_status_display()}")
            )
            for f in check.findings:
                mark = "ok  " if f["ok"] else "FAIL"
                self.stdout.write(f"  {mark} {f['check']}: {f['detail']}")
                if not f["ok"] and f["remedy"]:
                    self.stdout.write(f"       remedy: {f['remedy']}")
            failed += not check.ok
        self.stdout.write(f"{len(tenants) - failed} passed, {failed} need attention.")
