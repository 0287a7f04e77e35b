"""Management commands for automation."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cloudsim import ids
from tenants.models import ConsentLink, CustomerTenant

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_onboard_tenant_with_a_link(settings):
    settings.PORTAL_BASE_URL = "https://portal.example"
    out = _run("onboard_tenant", ids.FABRIKAM_TENANT_ID, "--name", "Fabrikam", "--link")
    assert "Registered Fabrikam" in out
    assert "https://portal.example/consent/" in out
    assert ConsentLink.objects.get().tenant == CustomerTenant.objects.get()


def test_consent_link_can_revoke_open_links_and_email():
    _run("onboard_tenant", ids.FABRIKAM_TENANT_ID, "--link")
    out = _run(
        "consent_link",
        ids.FABRIKAM_TENANT_ID,
        "--revoke-open",
        "--email",
        "admin@fabrikam.example",
        "--send",
    )
    assert "Emailed to admin@fabrikam.example" in out
    assert ConsentLink.objects.filter(revoked_at=None).count() == 1


def test_commands_refuse_unknown_tenants():
    with pytest.raises(CommandError, match="No registered tenant"):
        _run("consent_link", ids.LITWARE_TENANT_ID)
    with pytest.raises(CommandError, match="neither a tenant id nor a domain"):
        _run("onboard_tenant", "not a tenant")


def test_verify_tenants_with_nothing_consented():
    _run("onboard_tenant", ids.FABRIKAM_TENANT_ID)
    assert "0 passed, 0 need attention" in _run("verify_tenants")
