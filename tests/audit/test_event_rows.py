"""The event table's rows, built in Python (audit_tags.event_rows) rather than by the template
engine: the same cells, escaped, linked under the deployment's URL prefix, and whole when the
user or tenant an event names has since been deleted."""

from __future__ import annotations

import uuid

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor, record_event
from portal.links import object_url
from portal.models import Role, User
from tenants.models import CustomerTenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def fabrikam():
    return CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name="Fabrikam")


def test_a_row_shows_who_what_target_and_tenant(auditor_client, operator_user, fabrikam):
    operator_user.display_name = "Olivia Operator"
    operator_user.save()
    event = record_event(
        actor=Actor.operator(operator_user),
        action=Action.TENANT_CREATED,
        target=fabrikam,
        tenant=fabrikam,
    )
    html = auditor_client.get(reverse("audit:log")).content.decode()
    at = event.at.strftime("%Y-%m-%d %H:%M:%S")
    assert f'<time datetime="{event.at.isoformat()}">{at}</time>' in html
    assert f'Olivia Operator <span class="help">({operator_user.email})</span>' in html
    assert 'data-action="tenant.created">Tenant registered<' in html
    detail = reverse("tenants:detail", args=[fabrikam.pk])
    assert f'<a href="{detail}">Fabrikam</a> <span class="help">Tenant</span>' in html
    assert f'href="{reverse("audit:log")}?tenant={fabrikam.tenant_id}"' in html
    assert f'<a href="{reverse("audit:event", args=[event.pk])}">Details' in html


def test_hostile_names_from_a_directory_are_escaped(auditor_client):
    evil = '<img src=x onerror="alert(1)">'
    tenant = CustomerTenant.objects.create(tenant_id=uuid.uuid4(), display_name=evil)
    record_event(
        actor=Actor.system(evil), action=Action.TENANT_CREATED, target=tenant, tenant=tenant
    )
    html = auditor_client.get(reverse("audit:log")).content.decode()
    assert evil not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_a_row_whose_user_and_tenant_were_deleted_keeps_its_labels(auditor_client, fabrikam):
    gone = User.objects.create_user("leaver@contoso.example", role=Role.OPERATOR)
    record_event(
        actor=Actor.operator(gone), action=Action.TENANT_CREATED, target=fabrikam, tenant=fabrikam
    )
    # Events keep dangling ids (no database constraint): deleting rows rewrites nothing.
    User.objects.filter(pk=gone.pk).delete()
    CustomerTenant.objects.filter(pk=fabrikam.pk).delete()
    response = auditor_client.get(reverse("audit:log"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "leaver@contoso.example" in html and ">Fabrikam<" in html
    assert f"?tenant={fabrikam.tenant_id}" not in html  # no filter link to a tenant that is gone


def test_no_events_says_so(auditor_client):
    html = auditor_client.get(reverse("audit:log") + "?q=nothing-by-this-name").content.decode()
    assert '<tr><td colspan="6">No events match.</td></tr>' in html


def test_row_links_carry_the_deployments_url_prefix(fabrikam):
    """Behind a proxy that mounts the portal under a path (SCRIPT_NAME), links keep it."""
    event = record_event(
        actor=Actor.system("test"), action=Action.TENANT_CREATED, target=fabrikam, tenant=fabrikam
    )
    try:
        set_script_prefix("/portal/")
        assert (
            object_url("audit:event", event.pk)
            == f"/portal/audit/events/{event.pk}/"
            == (reverse("audit:event", args=[event.pk]))
        )
    finally:
        clear_script_prefix()
    assert object_url("audit:event", event.pk) == reverse("audit:event", args=[event.pk])
    assert object_url("no:such-route", 1) == ""


def test_choice_labels_come_from_the_choices_and_unknown_values_show_as_stored():
    assert AuditEvent(action=Action.CONSENT_GRANTED).get_action_display() == "Admin consent granted"
    assert AuditEvent(action="retired.action").get_action_display() == "retired.action"
    assert CustomerTenant(status="verified").get_status_display() == "Verified"
