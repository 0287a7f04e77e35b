"""Whatever lands on the callback, the answer is a page (never a 500) and nothing changes."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cloudsim import ids
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant

pytestmark = pytest.mark.django_db

KEYS = ["admin_consent", "tenant", "state", "error", "error_description", "error_subcode", "scope"]
values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "True",
            "true",
            "False",
            ids.FABRIKAM_TENANT_ID,
            ids.NORTHWIND_TENANT_ID,
            "access_denied",
            "AADSTS65004: no",
            "cancel",
        ]
    ),
)
pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=20)), values), max_size=8
)


def _snapshot():
    return (
        list(ConsentLink.objects.order_by("pk").values()),
        list(CustomerTenant.objects.order_by("pk").values()),
    )


@hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pairs=pairs, raw=st.text(max_size=300), tamper=st.booleans())
def test_arbitrary_callbacks_never_fail_or_change_state(
    client, issued, settings, pairs, raw, tamper
):
    settings.CONSENT_RATE_LIMIT = 10**9
    if tamper:  # a state the portal really issued, then bent
        state = consent.start_admin_consent(token=issued.token).split("state=")[1]
        pairs = [*pairs, ("state", state[::-1])]
    before = _snapshot()
    query = raw if not pairs else urlencode(pairs)
    response = client.get("/consent/callback/?" + query)
    assert response.status_code == 400
    assert b"Nothing was changed" in response.content
    assert _snapshot() == before
