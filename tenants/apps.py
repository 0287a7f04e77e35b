from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Customer tenants"

    def setup_demo(self, stdout) -> None:
        """Registers nothing: onboarding Fabrikam is the demo. Prints where to start."""
        from django.conf import settings

        if not settings.CLOUDSIM_MODE:
            return
        stdout.write("Tenants: onboard the demo customer yourself:")
        stdout.write("  Tenants > Add tenant > fabrikam.example, then create a consent link,")
        stdout.write("  open it as the customer admin and Accept on cloudsim's page.")
        stdout.write("  Other scenarios: northwind.example (no ACS Clients service principal),")
        stdout.write("  litware.example (the admin declines).")
