from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit.db_roles import install_database_roles

        # Once per migrate (sender: this app), after every app's tables exist.
        post_migrate.connect(install_database_roles, sender=self, dispatch_uid="audit-db-roles")
