"""Auditors read every page they can open without change forms, and a change they try anyway
is refused, changes nothing and is audited once (issue 17, "auditors see read-only pages").

The walk visits every route of the URL conf an auditor may read, filled with real rows, so a
page added later is checked too.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments.models import AcsResource, Assignment, DriftEntry, SyncRun
from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor, record_event
from notifications.models import WebhookEndpoint
from portal.models import Role
from tenants.models import ConsentLink, CustomerTenant, TenantStatus
from tests.support.urlconf import converter_kinds, fill, walk

pytestmark = pytest.mark.django_db

# The one POST form every signed-in page has: signing out.
_POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>", re.IGNORECASE)
_SIGN_OUT = re.compile(r'action="[^"]*/accounts/logout/?"', re.IGNORECASE)


@pytest.fixture
def rows(operator_user):
    tenant = CustomerTenant.objects.create(
        tenant_id=uuid.uuid4(),
        display_name="Fabrikam",
        primary_domain="fabrikam.example",
        status=TenantStatus.VERIFIED,
        last_verified_at=timezone.now(),
    )
    link = ConsentLink.objects.create(
        tenant=tenant,
        token_hash=uuid.uuid4().hex,
        admin_email="admin@fabrikam.example",
        expires_at=timezone.now() + timedelta(days=7),
    )
    resource = AcsResource.objects.create(name="acs-demo", endpoint="https://acs.example/")
    assignment = Assignment.objects.create(
        resource=resource,
        tenant=tenant,
        principal_type="user",
        object_id=uuid.uuid4(),
        display_name="Adele Vance",
    )
    run = SyncRun.objects.create(resource=resource, trigger="manual")
    drift = DriftEntry.objects.create(
        resource=resource, object_id=uuid.uuid4(), last_seen_at=timezone.now()
    )
    endpoint = WebhookEndpoint.objects.create(name="hook", url="https://hooks.example/in")
    event = record_event(
        actor=Actor.operator(operator_user),
        action=Action.TENANT_CREATED,
        target=tenant,
        tenant=tenant,
    )
    return {
        "tenants/": {"pk": tenant.pk, "link_pk": link.pk, "group_pk": 1, "tenant_pk": tenant.pk},
        "resources/": {"pk": resource.pk, "assignment_pk": assignment.pk, "entry_pk": drift.pk},
        "syncs/": {"pk": run.pk},
        "audit/events/": {"pk": event.pk},
        "audit/tenants/": {"pk": tenant.pk},
        "audit/resources/": {"pk": resource.pk},
        "notifications/webhooks/": {"pk": endpoint.pk},
        "notifications/links/": {"pk": link.pk},
        "": {"pk": 1, "tenant_pk": tenant.pk, "link_pk": link.pk},
    }


def _auditor_pages(rows) -> list[str]:
    pages = []
    for route, pattern in walk():
        access = getattr(pattern.callback, "portal_access", None)
        if access is None or Role.AUDITOR not in access["read"]:
            continue
        values = next(v for prefix, v in rows.items() if route.startswith(prefix))
        kinds = converter_kinds(route, pattern)
        if any(name not in values for name in kinds):
            continue  # a parameter no row here names (a token); the role walk covers it
        pages.append(fill(route, pattern, {name: str(values[name]) for name in kinds}))
    return pages


def test_an_auditor_sees_no_change_form_on_any_page(rows, auditor_client):
    pages = _auditor_pages(rows)
    assert len(pages) >= 15  # the walk found the console, not an empty URL conf
    offending = {}
    for url in pages:
        response = auditor_client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        forms = [f for f in _POST_FORM.findall(html) if not _SIGN_OUT.search(f)]
        if forms:
            offending[url] = forms
    assert sorted(offending) == [], offending


def test_a_denied_post_by_an_auditor_changes_nothing_and_is_audited_once(
    rows, auditor_client, auditor_user
):
    tenant = CustomerTenant.objects.get(display_name="Fabrikam")
    url = reverse("tenants:edit", args=[tenant.pk])
    before = AuditEvent.objects.count()
    response = auditor_client.post(
        url + "?token=should-not-be-kept", {"display_name": "Renamed", "notes": "x"}
    )
    assert response.status_code == 403
    tenant.refresh_from_db()
    assert tenant.display_name == "Fabrikam"
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.action for e in events] == [Action.ACCESS_DENIED]
    denied = events[0]
    assert denied.actor_id == auditor_user.pk and denied.actor_label == auditor_user.email
    assert denied.details == {
        "method": "POST",
        "path": url,
        "view": "tenants:edit",
        "role": "auditor",
    }
    assert "should-not-be-kept" not in str(denied.details) + denied.target_label
    assert "Renamed" not in str(denied.details)


def test_a_read_the_role_may_not_do_is_refused_without_an_event(rows, auditor_client):
    before = AuditEvent.objects.count()
    assert auditor_client.get(reverse("operators")).status_code == 403
    assert AuditEvent.objects.count() == before


def test_an_operator_post_is_not_recorded_as_denied(rows, operator_client):
    tenant = CustomerTenant.objects.get(display_name="Fabrikam")
    operator_client.post(reverse("tenants:edit", args=[tenant.pk]), {"display_name": "Renamed"})
    assert not AuditEvent.objects.filter(action=Action.ACCESS_DENIED).exists()
