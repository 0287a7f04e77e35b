"""The console's lists as an operator meets them: dashboard tiles that open the list they count,
sortable and searchable tenants, consent links and operators, a tenant's timeline, the reports
index."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.models import AcsResource, Assignment
from audit.actions import Action
from audit.services import Actor, record_event
from portal.models import Role
from tenants.filters import tenant_match
from tenants.models import ConsentLink, ConsentOutcome, CustomerTenant, TenantStatus

pytestmark = pytest.mark.django_db


def _tenant(name: str, status: str, **fields) -> CustomerTenant:
    return CustomerTenant.objects.create(
        tenant_id=uuid.uuid4(), display_name=name, status=status, **fields
    )


def _link(tenant, **fields) -> ConsentLink:
    fields.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return ConsentLink.objects.create(tenant=tenant, token_hash=uuid.uuid4().hex, **fields)


@pytest.fixture
def portfolio():
    tenants = {
        "Adatum": _tenant("Adatum", TenantStatus.ATTENTION, primary_domain="adatum.example"),
        "Contoso": _tenant("Contoso", TenantStatus.VERIFIED, primary_domain="contoso.example"),
        "Fabrikam": _tenant("Fabrikam", TenantStatus.INVITED, primary_domain="fabrikam.example"),
        "Litware": _tenant("Litware", TenantStatus.INVITED),
        "Northwind": _tenant("Northwind", TenantStatus.ATTENTION),
        "Tailspin": _tenant("Tailspin", TenantStatus.REGISTERED),
    }
    return tenants


def _names(response) -> list[str]:
    return [str(t) for t in response.context["tenants"]]


def test_dashboard_tiles_open_the_list_they_count(operator_client, portfolio):
    html = operator_client.get(reverse("dashboard")).content.decode()
    tiles = re.findall(r'<a class="card[^"]*" href="([^"]+)" data-count="(\d+)">', html)
    assert len(tiles) >= 2 + 4  # needs attention, waiting for consent, then each status
    assert "Tenants to act on" in html
    assert ">need attention<" in html and ">waiting for consent<" in html
    for href, count in tiles:
        listed = operator_client.get(href.replace("&amp;", "&"))
        assert listed.status_code == 200, href
        assert listed.context["page"].paginator.count == int(count), href
    attention = dict(tiles)[f"{reverse('tenants:list')}?status=attention"]
    assert attention == "2"


def test_assignment_tiles_open_the_resources_list_filtered_by_state(operator_client, portfolio):
    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    for state in ("synced", "synced", "failed"):
        Assignment.objects.create(
            resource=resource,
            tenant=portfolio["Contoso"],
            principal_type="user",
            object_id=uuid.uuid4(),
            sync_state=state,
        )
    html = operator_client.get(reverse("dashboard")).content.decode()
    href = reverse("assignments:resource_assignments", args=[resource.pk]) + "?sync_state=failed"
    assert f'href="{href}" data-count="1"' in html
    listed = operator_client.get(href)
    assert listed.status_code == 200 and "1 assignment" in listed.content.decode()


def test_tenants_sort_by_any_column_both_ways(operator_client, portfolio):
    url = reverse("tenants:list")
    assert _names(operator_client.get(url))[:2] == ["Adatum", "Contoso"]
    assert _names(operator_client.get(url, {"ordering": "-name"}))[0] == "Tailspin"
    by_status = _names(operator_client.get(url, {"ordering": "status"}))
    statuses = [CustomerTenant.objects.get(display_name=n).status for n in by_status]
    assert statuses == sorted(statuses)
    html = operator_client.get(url, {"ordering": "name"}).content.decode()
    assert 'aria-sort="ascending"><a href="?ordering=-name"' in html
    assert 'aria-sort="none"><a href="?ordering=status"' in html


def test_tenant_search_by_name_domain_or_guid_keeps_the_sort(operator_client, portfolio):
    url = reverse("tenants:list")
    assert _names(operator_client.get(url, {"q": "fabrikam.ex"})) == ["Fabrikam"]
    guid = str(portfolio["Litware"].tenant_id).upper()
    assert _names(operator_client.get(url, {"q": guid})) == ["Litware"]
    found = operator_client.get(url, {"q": "t", "status": "attention", "ordering": "-name"})
    assert _names(found) == ["Northwind", "Adatum"]
    html = found.content.decode()
    # Sorting again keeps the search and the filter.
    assert "q=t&amp;status=attention&amp;ordering=name" in html


def test_status_facets_count_the_searched_tenants(operator_client, portfolio):
    html = operator_client.get(reverse("tenants:list"), {"q": "a"}).content.decode()
    counts = re.findall(r'>([A-Z][a-z ]+) <span class="badge">(\d+)</span>', html)
    searched = CustomerTenant.objects.filter(tenant_match("a"))  # names and domains
    assert dict(counts)["All"] == str(searched.count())
    assert dict(counts)["Needs attention"] == str(searched.filter(status="attention").count())


def test_an_empty_search_says_so_and_offers_the_way_back(operator_client, portfolio):
    html = operator_client.get(reverse("tenants:list"), {"q": "zzz"}).content.decode()
    assert "No tenants match this filter." in html and "Show every tenant" in html


def test_consent_links_list_filters_by_state_and_tenant(operator_client, portfolio):
    fabrikam, litware = portfolio["Fabrikam"], portfolio["Litware"]
    _link(fabrikam, admin_email="admin@fabrikam.example")
    _link(fabrikam, opened_at=timezone.now())
    _link(fabrikam, outcome=ConsentOutcome.DECLINED, opened_at=timezone.now())
    _link(litware, expires_at=timezone.now() - timedelta(days=1))
    _link(litware, used_at=timezone.now(), outcome=ConsentOutcome.GRANTED)
    _link(litware, revoked_at=timezone.now())
    url = reverse("tenants:links")
    everything = operator_client.get(url)
    assert everything.context["page"].paginator.count == 6
    html = everything.content.decode()
    for label in ("Sent, not opened", "Opened, no answer yet", "Declined or failed, still usable"):
        assert label in html
    for state, expected in (("sent", 1), ("opened", 1), ("refused", 1), ("expired", 1)):
        found = operator_client.get(url, {"status": state})
        assert found.context["page"].paginator.count == expected, state
    by_guid = operator_client.get(url, {"tenant": str(litware.tenant_id)})
    assert {link.tenant_id for link in by_guid.context["links"]} == {litware.pk}
    assert operator_client.get(url, {"status": "bogus"}).status_code == 200


def test_operators_are_searched_and_filtered_by_role(admin_client, make_user):
    make_user("sam@fabrikam.example", Role.OPERATOR, display_name="Sam Operator")
    make_user("erin@contoso.example", Role.AUDITOR)
    url = reverse("operators")
    auditors = admin_client.get(url, {"role": "auditor"})
    assert [u.email for u in auditors.context["operators"]] == ["erin@contoso.example"]
    found = admin_client.get(url, {"q": "SAM"})
    assert [u.email for u in found.context["operators"]] == ["sam@fabrikam.example"]
    by_name = admin_client.get(url, {"q": "operator"})
    assert [u.email for u in by_name.context["operators"]] == ["sam@fabrikam.example"]
    by_role = admin_client.get(url, {"ordering": "-role"})
    roles = [u.role for u in by_role.context["operators"]]
    assert roles == sorted(roles, reverse=True)


def test_the_tenant_timeline_reads_as_sentences_by_day(auditor_client, operator_user, portfolio):
    fabrikam = portfolio["Fabrikam"]
    actor = Actor.operator(operator_user)
    record_event(
        actor=actor,
        action=Action.CONSENT_LINK_CREATED,
        target_type="consentlink",
        target_label="Consent link",
        tenant=fabrikam,
        details={"status": {"from": "registered", "to": "invited", "event": "link_issued"}},
    )
    oid = uuid.uuid4()
    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    Assignment.objects.create(
        resource=resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=oid,
        display_name="Adele Vance",
    )
    record_event(
        actor=actor,
        action=Action.ASSIGNMENT_ADDED,
        target_type="assignment",
        target_id="1",
        target_label=f"User {oid}",
        tenant=fabrikam,
        details={"resource": "acs-prod", "principal_type": "user", "object_id": str(oid)},
    )
    html = auditor_client.get(reverse("audit:tenant_timeline", args=[fabrikam.pk])).content.decode()
    assert "Consent link created" in html and "Registered → Invited" in html
    assert "Adele Vance" in html and str(oid) in html  # the name, with its id beside it
    assert "times in UTC (+00:00)" in html
    assert timezone.now().strftime("%Y") in html  # the day heading
    detail = auditor_client.get(reverse("tenants:detail", args=[fabrikam.pk])).content.decode()
    assert reverse("audit:tenant_timeline", args=[fabrikam.pk]) in detail


def test_the_audit_log_shows_names_not_ids(auditor_client, operator_user, portfolio):
    operator_user.display_name = "Dana Operator"
    operator_user.save()
    fabrikam = portfolio["Fabrikam"]
    oid = uuid.uuid4()
    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    Assignment.objects.create(
        resource=resource, tenant=fabrikam, principal_type="group", object_id=oid,
        display_name="Sales team",
    )  # fmt: skip
    record_event(
        actor=Actor.operator(operator_user),
        action=Action.ASSIGNMENT_ADDED,
        target_type="assignment",
        target_label=f"Group {oid}",
        tenant=fabrikam,
        details={"resource": "acs-prod", "principal_type": "group", "object_id": str(oid)},
    )
    html = auditor_client.get(reverse("audit:log")).content.decode()
    row = html[html.index('data-action="assignment.added"') - 600 :]
    assert "Dana Operator" in row and "Sales team" in row and str(oid) in row
    assert ">Assignment added<" in row and ">Fabrikam<" in row


def test_the_reports_index_links_each_report(auditor_client, portfolio):
    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    html = auditor_client.get(reverse("audit:reports")).content.decode()
    fabrikam = portfolio["Fabrikam"]
    assert reverse("audit:tenant_report", args=[fabrikam.pk]) in html
    assert reverse("audit:tenant_timeline", args=[fabrikam.pk]) in html
    assert f"/audit/?tenant={fabrikam.tenant_id}" in html
    assert reverse("audit:resource_history", args=[resource.pk]) in html
    assert reverse("audit:export_csv") in html
    found = auditor_client.get(reverse("audit:reports"), {"q": "north"})
    assert [str(t) for t in found.context["tenants"]] == ["Northwind"]
    nav = auditor_client.get(reverse("dashboard")).content.decode()
    assert f'href="{reverse("audit:reports")}"' in nav


def test_sync_run_tiles_open_the_runs_list_with_the_same_count(operator_client):
    from assignments.models import SyncRun

    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    for status in ("succeeded", "succeeded", "failed"):
        SyncRun.objects.create(resource=resource, trigger="manual", status=status)
    html = operator_client.get(reverse("dashboard")).content.decode()
    tiles = re.findall(r'<a class="card" href="(/syncs/\?status=\w+)" data-count="(\d+)">', html)
    assert dict(tiles) == {"/syncs/?status=failed": "1", "/syncs/?status=succeeded": "2"}
    for href, count in tiles:
        assert operator_client.get(href).context["page"].paginator.count == int(count)


def test_the_operator_filter_and_the_invite_form_have_distinct_ids(admin_client):
    html = admin_client.get(reverse("operators")).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    assert 'id="filter_role"' in html and 'id="id_role"' in html
