"""``make run`` prepares the demo resource on cloudsim, once."""

from __future__ import annotations

import io

import pytest
from django.apps import apps

from assignments.models import AcsResource

pytestmark = pytest.mark.django_db


def test_demo_resource_is_created_once_and_follows_the_endpoint(settings, monkeypatch):
    settings.CLOUDSIM_MODE = True
    # What cloudsim's portal.env admits for the demo (cloudsim.app.CloudSim.portal_env).
    settings.ACS_ALLOWED_HOSTS = ["127.0.0.1:8443", "127.0.0.1:9443"]
    settings.ACS_KEY_ENV_VARS = ["ACS_DEMO_ACCESS_KEY"]
    monkeypatch.setenv("ACS_DEMO_ENDPOINT", "https://127.0.0.1:8443/")
    config = apps.get_app_config("assignments")
    config.setup_demo(io.StringIO())
    config.setup_demo(io.StringIO())
    resource = AcsResource.objects.get()
    assert (resource.name, resource.endpoint, resource.key_env_var) == (
        "contoso-acs",
        "https://127.0.0.1:8443",
        "ACS_DEMO_ACCESS_KEY",
    )
    monkeypatch.setenv("ACS_DEMO_ENDPOINT", "https://127.0.0.1:9443")
    config.setup_demo(io.StringIO())
    assert AcsResource.objects.get().endpoint == "https://127.0.0.1:9443"


def test_no_demo_resource_outside_cloudsim_mode(settings, monkeypatch):
    settings.CLOUDSIM_MODE = False
    monkeypatch.setenv("ACS_DEMO_ENDPOINT", "https://127.0.0.1:8443")
    apps.get_app_config("assignments").setup_demo(io.StringIO())
    assert not AcsResource.objects.exists()
