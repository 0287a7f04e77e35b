"""Names from a customer's directory are hostile input: stored safely, truncated, escaped.

Entra lets a tenant's admin name the organization and its groups; cloudsim serves such names
through Graph exactly as stored, and the portal must neither crash (PostgreSQL refuses NUL in
text and in jsonb) nor store more than its columns hold (rule: docs/microsoft/graph.md).
"""

from __future__ import annotations

import pytest

from audit.services import Actor
from cloudsim import ids
from cloudsim.directory import GROUP, TENANT
from tenants.names import NAME_MAX, clean_name
from tenants.verification import verify_consent
from tests.support.microsoft import consent, invite

pytestmark = [pytest.mark.integration]

HOSTILE = "<script>alert(1)</script>\x00Fab\x07rikam " + "x" * 400


def _rename(microsoft, kind: str, scope: str, id_: str, name: str) -> None:
    store = microsoft.sim.store
    doc = store.get(kind, scope, id_)
    store.put(kind, scope, id_, {**doc, "displayName": name})


def test_the_truncation_rule():
    assert clean_name("a\x00b\r\nc") == "ab c"
    assert clean_name("x" * NAME_MAX) == "x" * NAME_MAX
    long = clean_name("y" * (NAME_MAX + 1))
    assert len(long) == NAME_MAX and long.endswith("…")


@pytest.mark.django_db
def test_hostile_organization_and_group_names_are_stored_cut_and_rendered_escaped(
    client, operator_client, operator_user, microsoft
):
    actor = Actor.operator(operator_user)
    tenant, issued = invite(actor, ids.FABRIKAM_TENANT_ID)
    consent(client, microsoft, issued.token, "admin@fabrikam.example")
    _rename(microsoft, TENANT, "", ids.FABRIKAM_TENANT_ID, HOSTILE)
    _rename(microsoft, GROUP, ids.FABRIKAM_TENANT_ID, ids.FABRIKAM_SALES_GROUP, HOSTILE)

    response = operator_client.post(
        f"/tenants/{tenant.pk}/groups/add/", {"object_id": ids.FABRIKAM_SALES_GROUP}
    )
    assert response.status_code == 302
    group = tenant.groups.get()
    assert "\x00" not in group.display_name and len(group.display_name) == NAME_MAX

    check = verify_consent(tenant=tenant)
    assert check.ok, check.findings
    tenant.refresh_from_db()
    assert len(tenant.display_name) == NAME_MAX and tenant.display_name.endswith("…")
    assert "\x00" not in tenant.display_name and "\x07" not in tenant.display_name

    page = operator_client.get(f"/tenants/{tenant.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Fab rikam" in page
    search = operator_client.get(f"/tenants/{tenant.pk}/?group_q=%3Cscript").content.decode()
    assert search.count("&lt;script&gt;") >= 1 and "<script>alert" not in search
