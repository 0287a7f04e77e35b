"""The audit log's filters as an auditor meets them: a tenant's Entra id, one time zone, only
options that can match, labels instead of codes, and the CSV agreeing with the page."""

from __future__ import annotations

import csv
import io
import uuid
import zoneinfo
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.models import AcsResource
from audit.filters import AuditEventFilter, action_choices, target_type_choices
from audit.models import AuditEvent
from tenants.models import CustomerTenant

from .helpers import T0, make_events

pytestmark = pytest.mark.django_db


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def two_tenants():
    fabrikam = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Fabrikam")
    contoso = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Contoso")
    make_events(3, start=T0, tenant=fabrikam, tenant_label="Fabrikam", action="consent.granted")
    make_events(4, start=T0, tenant=contoso, tenant_label="Contoso", action="consent.declined")
    return fabrikam, contoso


def test_the_tenant_guid_filter_gives_that_tenants_rows_and_the_csv_the_same_guid(
    auditor_client, two_tenants
):
    fabrikam, _ = two_tenants
    guid = str(fabrikam.tenant_id)
    page = auditor_client.get(reverse("audit:log"), {"tenant": guid})
    assert {e.tenant_id for e in page.context["page"].events} == {fabrikam.pk}
    assert len(page.context["page"].events) == 3
    # The tenant cell links to the same filter, by GUID, not by the portal's own id.
    assert f'href="/audit/?tenant={guid}"' in page.content.decode()

    rows = _csv(auditor_client.get(reverse("audit:export_csv"), {"tenant": guid}))
    assert len(rows) == 3
    assert {r["tenant_id"] for r in rows} == {guid}
    assert {r["tenant_name"] for r in rows} == {"Fabrikam"}
    assert {r["action_label"] for r in rows} == {"Admin consent granted"}


def test_the_csv_names_the_tenant_as_it_is_called_now(auditor_client, two_tenants):
    fabrikam, _ = two_tenants
    CustomerTenant.objects.filter(pk=fabrikam.pk).update(display_name="Fabrikam Global")
    rows = _csv(auditor_client.get(reverse("audit:export_csv"), {"tenant": "global"}))
    assert {r["tenant_name"] for r in rows} == {"Fabrikam Global"}


def test_a_guid_with_braces_or_capitals_still_matches(two_tenants):
    fabrikam, _ = two_tenants
    text = "{" + str(fabrikam.tenant_id).upper() + "}"
    assert AuditEventFilter({"tenant": text}, queryset=AuditEvent.objects.all()).qs.count() == 3


def test_times_without_an_offset_are_utc_whatever_the_active_zone(two_tenants):
    # Events at 12:00:00..12:00:03 UTC. An auditor in Berlin types what the page shows (UTC).
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        flt = AuditEventFilter({"since": "2026-11-01T12:00:02"}, queryset=AuditEvent.objects.all())
        assert flt.qs.count() == 3  # 12:00:02 of each tenant, 12:00:03 of Contoso
    # An offset is honoured: 13:00:02+01:00 is 12:00:02 UTC.
    flt = AuditEventFilter(
        {"since": "2026-11-01T13:00:02+01:00"}, queryset=AuditEvent.objects.all()
    )
    assert flt.qs.count() == 3


def test_the_page_states_its_time_zone(auditor_client, two_tenants):
    html = auditor_client.get(reverse("audit:log")).content.decode()
    assert "When (UTC, +00:00)" in html and "From (UTC)" in html and "UTC (+00:00)" in html


def test_only_actions_and_targets_that_occur_are_offered(two_tenants):
    flat = [v for _group, options in action_choices() for v, _label in options]
    assert sorted(flat) == ["consent.", "consent.declined", "consent.granted"]
    labels = dict(options for _group, group in action_choices() for options in group)
    assert labels["consent.granted"] == "Admin consent granted"
    assert target_type_choices() == [("customertenant", "Tenant")]


def test_a_lone_action_of_its_kind_gets_no_group(db):
    make_events(2, start=T0, action="sync.finished")
    assert action_choices() == [("Actions", [("sync.finished", "Sync finished")])]


def test_an_empty_log_offers_no_action(db):
    assert action_choices() == [("Actions", [])]


def test_an_action_not_recorded_yet_matches_nothing_and_stays_selected(auditor_client, two_tenants):
    """A bookmarked "every revoked consent" link showed the whole log under an error."""
    for asked in ("tenant.created", "webhook."):
        response = auditor_client.get(reverse("audit:log"), {"action": asked})
        html = response.content.decode()
        assert response.status_code == 200
        assert response.context["page"].events == []
        assert "No events match." in html and "Select a valid choice" not in html
        assert f'<option value="{asked}" selected>' in html


def test_an_action_the_portal_never_records_is_refused_and_filters_nothing(
    auditor_client, two_tenants
):
    response = auditor_client.get(reverse("audit:log"), {"action": "no.such-action"})
    assert response.status_code == 200
    assert len(response.context["page"].events) == AuditEvent.objects.count()
    assert "Select a valid choice" in response.content.decode()


def test_the_resource_filter_finds_its_events_and_its_assignments_events(db):
    resource = AcsResource.objects.create(name="acs-prod", endpoint="https://acs.example/")
    other = AcsResource.objects.create(name="acs-test", endpoint="https://acs2.example/")
    make_events(2, start=T0, target_type="acsresource", target_id=str(resource.pk))
    make_events(1, start=T0, target_type="acsresource", target_id=str(other.pk))
    make_events(
        3,
        start=T0,
        action="assignment.added",
        target_type="assignment",
        target_id="5",
        details={"resource": "acs-prod", "object_id": str(uuid.uuid4())},
    )
    make_events(
        1,
        start=T0,
        action="assignment.added",
        target_type="assignment",
        details={"resource": "acs-test"},
    )
    flt = AuditEventFilter({"resource": str(resource.pk)}, queryset=AuditEvent.objects.all())
    assert flt.qs.count() == 5


def test_oldest_first_pages_forward_in_time(auditor_client, db):
    make_events(60, start=T0)
    response = auditor_client.get(reverse("audit:log"), {"ordering": "at"})
    events = response.context["page"].events
    assert events[0].at == T0 and events == sorted(events, key=lambda e: (e.at, e.pk))
    following = auditor_client.get(
        reverse("audit:log"), {"ordering": "at", "cursor": response.context["page"].next_cursor}
    )
    rest = following.context["page"].events
    assert len(rest) == AuditEvent.objects.count() - 50 and rest[0].at > events[-1].at


def test_bad_input_never_fails(auditor_client, two_tenants):
    for params in (
        {"since": "yesterday"},
        {"until": "2026-13-45T99:99"},
        {"tenant": "x" * 5000},
        {"resource": "abc"},
        {"resource": "99999999999999999999"},
        {"ordering": "id; drop table"},
        {"cursor": "%%%"},
    ):
        assert auditor_client.get(reverse("audit:log"), params).status_code == 200, params
        export = auditor_client.get(reverse("audit:export_csv"), params)
        assert export.status_code == 200, params


def test_the_export_records_the_filters_it_applied(auditor_client, two_tenants):
    fabrikam, _ = two_tenants
    until = (T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    _csv(
        auditor_client.get(
            reverse("audit:export_csv"), {"tenant": str(fabrikam.tenant_id), "until": until}
        )
    )
    exported = AuditEvent.objects.get(action="audit.exported")
    assert exported.details["filters"] == {
        "tenant": str(fabrikam.tenant_id),
        "until": "2026-11-01T13:00:00+00:00",
    }
