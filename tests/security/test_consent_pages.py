"""The public consent pages: strong tokens, rate limits, nothing about other tenants."""

from __future__ import annotations

import base64

import pytest
from django.core.cache import cache

from audit.services import Actor
from cloudsim import ids
from tenants import services
from tenants.models import ConsentLink, CustomerTenant


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def two_customers(operator_user, settings):
    actor = Actor.operator(operator_user)
    fabrikam = CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", primary_domain="fabrikam.example"
    )
    litware = CustomerTenant.objects.create(
        tenant_id=ids.LITWARE_TENANT_ID, display_name="Litware", primary_domain="litware.example"
    )
    fab_link = services.issue_consent_link(actor=actor, tenant=fabrikam, note="for Fabrikam only")
    lit_link = services.issue_consent_link(
        actor=actor, tenant=litware, note="secret Litware note", admin_email="boss@litware.example"
    )
    return fab_link, lit_link


@pytest.mark.django_db
def test_consent_tokens_carry_at_least_128_bits_and_only_their_hash_is_stored(two_customers):
    fab_link, _ = two_customers
    raw = base64.urlsafe_b64decode(fab_link.token + "=" * (-len(fab_link.token) % 4))
    assert len(raw) * 8 >= 128
    stored = ConsentLink.objects.values_list("token_hash", flat=True)
    assert fab_link.token not in set(stored)
    assert all(len(h) == 64 for h in stored)


@pytest.mark.django_db
def test_a_link_reveals_nothing_about_other_tenants(client, two_customers):
    fab_link, _ = two_customers
    page = client.get(f"/consent/{fab_link.token}/").content.decode().lower()
    assert "fabrikam" in page
    for other in ("litware", ids.LITWARE_TENANT_ID, "boss@", "secret litware note"):
        assert other not in page
    redirect = client.post(f"/consent/{fab_link.token}/")
    assert redirect.status_code == 302
    assert ids.FABRIKAM_TENANT_ID in redirect["Location"]
    assert ids.LITWARE_TENANT_ID not in redirect["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "token",
    ["x", "A" * 43, "../../admin", "%00", "' OR 1=1 --", "a" * 2000],
)
def test_unknown_or_malformed_tokens_get_a_clear_page_and_change_nothing(
    client, two_customers, token
):
    before = list(ConsentLink.objects.values())
    response = client.get(f"/consent/{token}/")
    assert response.status_code in (404, 410)
    assert "link" in response.content.decode().lower()
    assert client.post(f"/consent/{token}/").status_code in (404, 410)
    assert list(ConsentLink.objects.values()) == before


@pytest.mark.django_db
def test_guessing_tokens_is_rate_limited(client, settings, two_customers):
    settings.CONSENT_RATE_LIMIT = 5
    fab_link, _ = two_customers
    statuses = [client.get(f"/consent/guess-{i:04d}-{'x' * 30}/").status_code for i in range(8)]
    assert all(s in (404, 410) for s in statuses[:5])
    assert statuses[-1] == 429
    # While limited, even a valid link is not served to this address.
    assert client.get(f"/consent/{fab_link.token}/").status_code == 429


@pytest.mark.django_db
def test_the_callback_is_rate_limited_too(client, settings):
    settings.CONSENT_RATE_LIMIT = 3
    statuses = [client.get("/consent/callback/", {"state": f"x{i}"}).status_code for i in range(5)]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[-1] == 429


@pytest.mark.django_db
def test_status_endpoints_are_not_public(client, two_customers):
    tenant = CustomerTenant.objects.get(tenant_id=ids.FABRIKAM_TENANT_ID)
    response = client.get(f"/tenants/{tenant.pk}/status.json")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
