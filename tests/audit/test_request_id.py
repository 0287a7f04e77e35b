"""Every event carries the id of the request (or task) that caused it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.actions import Action
from audit.models import AuditEvent
from portal.request_context import get_request_id, set_request_id

pytestmark = pytest.mark.django_db


def test_an_event_written_by_a_view_carries_the_request_id(admin_client):
    response = admin_client.post(
        reverse("operators"), {"invite": "1", "email": "new@contoso.example", "role": "auditor"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=Action.OPERATOR_CREATED)
    assert event.request_id == response["X-Request-ID"] != ""
    assert event.ip == "127.0.0.1"


def test_a_well_formed_incoming_request_id_is_kept(admin_client):
    admin_client.post(
        reverse("operators"),
        {"invite": "1", "email": "new@contoso.example", "role": "auditor"},
        headers={"X-Request-ID": "edge-proxy-1234abcd"},
    )
    assert AuditEvent.objects.get(action=Action.OPERATOR_CREATED).request_id == (
        "edge-proxy-1234abcd"
    )


def test_a_malformed_incoming_request_id_is_replaced(auditor_client):
    response = auditor_client.get(reverse("audit:log"), headers={"X-Request-ID": "<script>"})
    assert response["X-Request-ID"] != "<script>" and len(response["X-Request-ID"]) == 32


def test_an_eager_task_keeps_and_restores_its_callers_request_id():
    from portal.tasks import ping

    set_request_id("caller-request-0001")
    try:
        assert ping.apply().get()["request_id"] == "caller-request-0001"
        assert get_request_id() == "caller-request-0001"
    finally:
        set_request_id(None)


def test_a_published_task_carries_the_request_id_in_its_headers():
    from portal.celery import _carry_request_id

    set_request_id("caller-request-0002")
    try:
        headers: dict = {}
        _carry_request_id(headers=headers)
        assert headers["request_id"] == "caller-request-0002"
    finally:
        set_request_id(None)
