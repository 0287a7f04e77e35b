"""Display names: from the portal's rows, the cache, or Graph (cloudsim), shown escaped."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.template import Context, Template

from assignments import names
from assignments.models import Assignment, DriftEntry
from cloudsim import ids

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def render(name, oid) -> str:
    return Template("{% load names %}{{ name|with_id:oid }}").render(
        Context({"name": name, "oid": oid})
    )


def test_a_hostile_name_is_escaped_and_the_object_id_stays_beside_it():
    html = render('<img src=x onerror="alert(1)">', ids.FABRIKAM_ADELE)
    assert "<img" not in html and "&lt;img" in html
    assert f"(<code>{ids.FABRIKAM_ADELE}</code>)" in html


def test_an_unknown_name_shows_the_object_id_alone():
    assert render("", ids.FABRIKAM_ADELE) == f'<code class="oid">{ids.FABRIKAM_ADELE}</code>'


def test_a_name_the_portal_holds_needs_no_graph(fabrikam, offline_resource, monkeypatch):
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=ids.FABRIKAM_ADELE,
        display_name="Adele Vance",
    )
    monkeypatch.setattr(names, "_graph_name", lambda *a: pytest.fail("Graph was asked"))
    book = names.NameBook()
    assert book.name("user", fabrikam.tenant_id, ids.FABRIKAM_ADELE) == "Adele Vance"
    assert book.name("group", fabrikam.tenant_id, ids.FABRIKAM_SALES_GROUP) == "Sales"
    assert book.name("tenant", fabrikam.tenant_id, fabrikam.tenant_id) == "Fabrikam"


def test_graph_names_a_user_and_a_group_once_then_the_cache_answers(fabrikam, microsoft):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    fabrikam.groups.all().delete()
    book = names.NameBook()
    assert book.name("user", fabrikam.tenant_id, ids.FABRIKAM_MEGAN) == "Megan Bowen"
    assert book.name("group", fabrikam.tenant_id, ids.FABRIKAM_SUPPORT_GROUP) == "Support"
    microsoft.set_fault("503", service="graph")  # Graph down: the cached names still show
    assert names.display_name("user", fabrikam.tenant_id, ids.FABRIKAM_MEGAN) == "Megan Bowen"


def test_a_directory_that_fails_leaves_the_object_id_and_is_not_asked_again(
    fabrikam, microsoft, monkeypatch
):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    microsoft.set_fault("503", service="graph")
    book = names.NameBook(seconds=60)  # wait for Graph's own retries to give up
    assert book.name("user", fabrikam.tenant_id, ids.FABRIKAM_ALEX) == ""
    monkeypatch.setattr(names, "_graph_name", lambda *a: pytest.fail("asked again"))
    assert names.display_name("user", fabrikam.tenant_id, ids.FABRIKAM_MEGAN) == ""


def test_graph_is_never_asked_about_an_unregistered_tenant(db, monkeypatch):
    monkeypatch.setattr(names, "_graph_name", lambda *a: pytest.fail("Graph was asked"))
    assert names.display_name("user", ids.NORTHWIND_TENANT_ID, ids.NORTHWIND_USER) == ""


def test_a_page_asks_graph_at_most_its_budget(fabrikam, monkeypatch):
    asked = []
    monkeypatch.setattr(names, "_graph_name", lambda *a: asked.append(a) or "Someone")
    book = names.NameBook(budget=3)
    for n in range(10):
        book.want("user", fabrikam.tenant_id, f"fab12ca7-0009-4000-8000-{n:012d}")
    book.resolve()
    assert len(asked) == 3 and sum(1 for v in book.names.values() if v) == 3


def test_a_graph_name_with_control_characters_is_cleaned_before_caching(fabrikam, monkeypatch):
    monkeypatch.setattr(names, "_graph_name", lambda *a: "Evil\x00\r\nName" + "x" * 400)
    name = names.display_name("user", fabrikam.tenant_id, ids.FABRIKAM_ALEX)
    assert name.startswith("Evil Name") and len(name) == 256 and "\x00" not in name


def test_a_drift_entry_name_stored_earlier_is_used(fabrikam, offline_resource, monkeypatch):
    from django.utils import timezone

    DriftEntry.objects.create(
        resource=offline_resource,
        object_id=ids.FABRIKAM_ALEX,
        tenant_id=ids.FABRIKAM_TENANT_ID,
        principal_type="user",
        display_name="Alex Wilber",
        last_seen_at=timezone.now(),
    )
    monkeypatch.setattr(names, "_graph_name", lambda *a: pytest.fail("Graph was asked"))
    assert names.display_name("user", fabrikam.tenant_id, ids.FABRIKAM_ALEX) == "Alex Wilber"
