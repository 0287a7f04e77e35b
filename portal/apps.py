from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from django.db import models
        from django.urls import register_converter

        from portal import metrics_events, signals  # noqa: F401  (connect their receivers)
        from portal.converters import IdConverter
        from portal.lookups import AnyOf

        models.BigAutoField.register_lookup(AnyOf)
        register_converter(IdConverter, "id")
