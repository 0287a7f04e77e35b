import os

from django.apps import AppConfig


class AssignmentsConfig(AppConfig):
    name = "assignments"
    verbose_name = "ACS assignments"

    def setup_demo(self, stdout) -> None:
        """``make run``: the demo resource on cloudsim (idempotent; follows cloudsim's port)."""
        from django.conf import settings

        endpoint = os.environ.get("ACS_DEMO_ENDPOINT", "").rstrip("/")
        if not (settings.CLOUDSIM_MODE and endpoint):
            return
        from assignments.models import AcsResource
        from assignments.services import create_resource, update_resource
        from audit.services import Actor

        actor = Actor.system("make run")
        resource = AcsResource.objects.filter(name="contoso-acs").first()
        if resource is None:
            create_resource(
                actor=actor,
                name="contoso-acs",
                endpoint=endpoint,
                key_env_var="ACS_DEMO_ACCESS_KEY",
            )
            stdout.write(
                f"Demo ACS resource contoso-acs at {endpoint} (key in ACS_DEMO_ACCESS_KEY)"
            )
        elif resource.endpoint != endpoint:
            update_resource(actor=actor, resource=resource, endpoint=endpoint)
            stdout.write(f"Demo ACS resource contoso-acs moved to {endpoint}")
