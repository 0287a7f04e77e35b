"""The served OpenAPI 3.1 document, fuzzed by schemathesis: every operation, with a write token.

Entra ID, Graph and ACS are cloudsim's. No answer may be a 5xx, and every answer (status, media
type, body, headers) must be one the document describes. Examples per operation are few
(``MAX_EXAMPLES``) to keep CI short.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Scope
from assignments.models import Assignment
from tenants.models import ConsentLink
from tests.api.conftest import token_for

MAX_EXAMPLES = 15
# No 5xx, and status, media type, headers and body as documented. Not "positive data
# acceptance": a request the schema allows can still be refused by the domain (a tenant that is
# not verified, an id that names nothing), with a documented 4xx problem.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def arranged(settings, microsoft, admin_user, fabrikam, acs_resource):
    """An admin's write token and a little of everything for the paths' ids to find; Entra ID,
    Graph and ACS are cloudsim's."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis's WSGI host
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api": "100000/min"},
    }
    Assignment.objects.create(
        resource=acs_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=fabrikam.tenant_id,
        client_ids=[settings.ENTRA_CLIENT_ID],
    )
    from audit.services import Actor
    from tenants.actions import consent

    consent.issue_consent_link(actor=Actor.operator(admin_user), tenant=fabrikam)
    assert ConsentLink.objects.exists()
    return {"Authorization": f"Bearer {token_for(admin_user, Scope.WRITE)}"}


@pytest.fixture
def api_schema(arranged):
    from django.core.wsgi import get_wsgi_application

    # The WSGI handler closes the connection around each request, which would end the test's
    # transaction: Django's test client stops that the same way.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi(
            "/api/v1/schema/", get_wsgi_application(), headers=arranged
        )
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def _operations() -> list:
    """(method, path) of every operation of the document, known at collection time (the test
    itself reads the document the portal serves)."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    return [
        pytest.param(method.upper(), path, id=f"{method.upper()} {path}")
        for path, operations in document["paths"].items()
        for method in operations
    ]


# schemathesis.pytest.from_fixture cannot run on pytest 9 yet (it sets Node._nodeid, gone in
# pytest 9), so each operation is a parameter here and its cases come from its strategy.
@pytest.mark.parametrize(("method", "path"), _operations())
def test_every_operation_conforms(api_schema, arranged, method, path):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def conforms(case):
        case.call_and_validate(headers=arranged, checks=CHECKS)

    conforms()


def test_the_document_is_valid_openapi_3_1_without_warnings(tmp_path):
    import json

    from django.core.management import call_command

    out = tmp_path / "schema.json"
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(out),
    )
    document = json.loads(out.read_text())
    assert document["openapi"] == "3.1.0"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) >= 30
