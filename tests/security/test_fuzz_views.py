"""No input gives a 500: every route of the URL conf, as every role and anonymously, GET with
fuzzed query parameters and POST with fuzzed form fields, on object ids that exist and don't.

Hypothesis draws the route, who asks, the method and the parameters; the names are those the
portal's views and forms read, plus arbitrary ones, and the values include the malformed kinds
that found 500s before (``tenant=abc``, ``entry=abc``, NUL, huge numbers, long text).
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assignments.models import AcsResource, Assignment, DriftEntry, SyncRun
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from portal.models import Role, User
from tenants.actions import consent
from tenants.models import CustomerGroup, CustomerTenant, TenantStatus
from tests.conftest import PASSWORD
from tests.support.urlconf import converter_kinds, fill, walk

ROUTES = [
    (route, pattern)
    for route, pattern in walk()
    # Django's own static-file helper, and the Microsoft sign-in callback, whose every
    # parameter goes to cloudsim's token endpoint (tests/integration/test_microsoft_sign_in.py).
    if not route.startswith(("static/", "accounts/microsoft/login/callback"))
]
NAMES = [
    "action",
    "actor",
    "actor_type",
    "admin_email",
    "check",
    "client_ids",
    "cursor",
    "days",
    "display_name",
    "email",
    "endpoint",
    "entry",
    "file",
    "filename",
    "format",
    "group",
    "group_q",
    "key_env_var",
    "name",
    "next",
    "note",
    "notes",
    "object_id",
    "override",
    "page",
    "principal_type",
    "q",
    "request_id",
    "resource",
    "role",
    "send_email",
    "since",
    "status",
    "sync_state",
    "target_id",
    "target_type",
    "tenant",
    "tenant_ref",
    "to",
    "token",
    "until",
    "user",
    "user_id",
    "version",
    "auth_method",
    "enabled",
    "confirm",
    "csv_text",
    "invite",
    "login",
    "password",
    "password1",
    "password2",
    "code",
    "state",
    "error",
    "error_description",
    "admin_consent",
]
NASTY = [
    "",
    "abc",
    "0",
    "-1",
    "1",
    "2",
    "999999",
    str(2**63),
    "1e9",
    "null",
    "a\x00b",
    "x" * 5000,
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "'; DROP TABLE x;--",
    str(uuid.UUID(int=1)),
    ids.FABRIKAM_TENANT_ID,
    "https://evil.example/",
    "user",
    "group",
    "tenant",
    "adopt",
    "remove",
    "test",
    "sync",
    "admin",
    "2026-13-45",
    "☎" * 10,
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))
one_or_more = st.one_of(values, st.lists(values, min_size=2, max_size=3))
# Every name the views read may be present (about half are, each time), plus a stray one.
params = st.fixed_dictionaries({}, optional=dict.fromkeys(NAMES, one_or_more)).flatmap(
    lambda known: st.dictionaries(st.text(min_size=1, max_size=10), values, max_size=1).map(
        lambda stray: {**stray, **known}
    )
)
# Per route; CI runs all routes (~80) in under a minute on SQLite.
EXAMPLES_PER_ROUTE = 25
WHO = [None, Role.ADMIN, Role.OPERATOR, Role.AUDITOR]


@pytest.fixture
def tasks_in_process():
    """Tasks a view enqueues run here (against cloudsim), not left in the broker for later
    tests' workers; their own failures are not the page's answer."""
    from portal.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def world(db, microsoft_env, tasks_in_process, settings):
    """One of each object, so that ids 1, 2… exist for each kind."""
    settings.CONSENT_RATE_LIMIT = 10**6
    # Sign-in and password pages hash every guess; the test is about answers, not hashing cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {
        role: User.objects.create_user(
            email=f"{role}@contoso.example", password=PASSWORD, role=role
        )
        for role in Role.values
    }
    actor = Actor.operator(users[Role.ADMIN])
    tenant = CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", status=TenantStatus.VERIFIED
    )
    issued = consent.issue_consent_link(actor=actor, tenant=tenant)
    CustomerGroup.objects.create(tenant=tenant, object_id=uuid.uuid4(), display_name="Sales")
    resource = AcsResource.objects.create(
        name="fuzz", endpoint="https://127.0.0.1:9", key_env_var="FUZZ_ACS_KEY"
    )
    Assignment.objects.create(
        resource=resource, tenant=tenant, principal_type="tenant", object_id=tenant.tenant_id
    )
    SyncRun.objects.create(resource=resource, trigger="manual")
    DriftEntry.objects.create(
        resource=resource, object_id=uuid.uuid4(), last_seen_at=timezone.now()
    )
    ids_ = {str(pk) for model in (AuditEvent, CustomerTenant, AcsResource) for pk in
            model.objects.values_list("pk", flat=True)[:3]}  # fmt: skip
    return {"users": users, "token": issued.token, "ids": sorted(ids_)}


def _path(route, pattern, world, data) -> str:
    sample = {
        "id": st.sampled_from([*world["ids"], "0", "999999", "9" * 18]),
        "uuid": st.sampled_from([str(uuid.UUID(int=1)), ids.FABRIKAM_TENANT_ID]),
    }
    text = st.sampled_from([world["token"], "x", "a" * 300, "%00", "1-abc"])
    chosen = {
        name: data.draw(sample.get(kind, text), label=name)
        for name, kind in converter_kinds(route, pattern).items()
    }
    return fill(route, pattern, chosen)


@pytest.mark.parametrize(("route", "pattern"), [pytest.param(*r, id=r[0] or "/") for r in ROUTES])
@settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_view_answers_5xx(world, route, pattern, data):
    who = data.draw(st.sampled_from(WHO), label="who")
    method = data.draw(st.sampled_from(["get", "post"]), label="method")
    query = data.draw(params, label="params")
    path = _path(route, pattern, world, data)
    client = Client()
    if who:
        client.force_login(world["users"][who])
    cache.clear()  # sign-in rate limits: each example starts unlimited

    response = getattr(client, method)(path, query)

    assert response.status_code < 500, f"{method.upper()} {path} {query!r} as {who}"


@pytest.mark.django_db
def test_an_id_beyond_64_bits_is_not_found(operator_client):
    # It overflowed the database integer in the query: 500 (OverflowError on SQLite).
    assert operator_client.get(f"/tenants/{2**63}/").status_code == 404
    assert operator_client.post(f"/tenants/{2**63}/links/1/revoke/").status_code == 404
