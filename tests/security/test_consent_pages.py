"""The public consent pages: strong tokens, rate limits, nothing about other tenants."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone

from audit.actions import Action
from audit.models import AuditEvent
from audit.services import Actor
from cloudsim import ids
from notifications import services as notify_services
from tenants.actions import consent
from tenants.models import ConsentLink, CustomerTenant
from tests.support.microsoft import answer_at_microsoft, invite, to_microsoft


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
    fab_link = consent.issue_consent_link(actor=actor, tenant=fabrikam, note="for Fabrikam only")
    lit_link = consent.issue_consent_link(
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


# --- dead ends: the operator's contact and "Request a new link" ------------------------------


def _expire(link) -> None:
    ConsentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(days=1))


def _request_form(page: str) -> str:
    match = re.search(r'name="ref" value="([^"]+)"', page)
    assert match, "the page offers no 'Request a new link' button"
    return html.unescape(match.group(1))


@pytest.fixture
def contact(settings):
    settings.PORTAL_SUPPORT_EMAIL = "onboarding@contoso.example"
    settings.PORTAL_SUPPORT_URL = "https://support.contoso.example/consent"


@pytest.mark.django_db
def test_an_expired_link_names_the_operators_contact_and_requests_a_new_link_by_email(
    client,
    two_customers,
    contact,
    operator_user,
    inbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    notify_services.save_preferences(
        actor=Actor.operator(operator_user), user=operator_user, kinds=["link.requested"]
    )
    fab_link, _ = two_customers
    _expire(fab_link.link)
    response = client.get(f"/consent/{fab_link.token}/")
    page = response.content.decode()
    assert response.status_code == 410
    assert "This consent link has expired" in page
    assert 'href="mailto:onboarding@contoso.example"' in page
    assert 'href="https://support.contoso.example/consent"' in page
    assert "Request a new link" in page
    assert fab_link.token not in _request_form(page)  # the reference never carries the token

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/consent/new-link/", {"ref": _request_form(page)})
    assert answer.status_code == 200
    assert "has been told that you need a new consent link" in answer.content.decode()
    event = AuditEvent.objects.get(action=Action.CONSENT_LINK_REQUESTED)
    assert event.tenant.display_name == "Fabrikam"
    assert event.details == {"link": fab_link.link.pk, "reason": "expired"}
    assert event.actor_type == "customer-admin"
    [mail] = inbox.to("omar@contoso.example")
    assert "New consent link requested" in mail["Subject"] and "Fabrikam" in mail["Subject"]
    text, _html = inbox.bodies(mail)
    assert "The link expired; the customer admin asks for a new one." in text


@pytest.mark.django_db
def test_requesting_again_and_again_tells_the_operator_once_per_window(
    client, two_customers, settings, django_capture_on_commit_callbacks
):
    settings.CONSENT_LINK_REQUEST_LIMIT = 1
    fab_link, lit_link = two_customers
    _expire(fab_link.link)
    _expire(lit_link.link)
    fab_ref = _request_form(client.get(f"/consent/{fab_link.token}/").content.decode())
    lit_ref = _request_form(client.get(f"/consent/{lit_link.token}/").content.decode())
    answers = [client.post("/consent/new-link/", {"ref": fab_ref}) for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert "already told in the last 60 minutes" in answers[-1].content.decode()
    # Another link still gets through: the limit is per link, not per address.
    assert "has been told" in client.post("/consent/new-link/", {"ref": lit_ref}).content.decode()
    requested = AuditEvent.objects.filter(action=Action.CONSENT_LINK_REQUESTED)
    assert sorted(e.details["link"] for e in requested) == sorted(
        [fab_link.link.pk, lit_link.link.pk]
    )


@pytest.mark.django_db
@pytest.mark.parametrize("ref", ["", "x", "1", "eyJsIjoxLCJyIjoiZXhwaXJlZCJ9:forged:sig"])
def test_a_forged_link_request_is_refused_and_notifies_nobody(client, two_customers, ref):
    response = client.post("/consent/new-link/", {"ref": ref})
    assert response.status_code == 400
    assert "could not be sent" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.CONSENT_LINK_REQUESTED).exists()


@pytest.mark.django_db
def test_an_unknown_link_names_the_contact_but_offers_no_request(client, two_customers, contact):
    page = client.get(f"/consent/{'A' * 43}/").content.decode()
    assert "onboarding@contoso.example" in page
    assert 'name="ref"' not in page


@pytest.mark.django_db
def test_without_a_configured_contact_the_page_points_to_who_sent_the_link(
    client, two_customers, settings
):
    settings.PORTAL_SUPPORT_EMAIL = settings.PORTAL_SUPPORT_URL = ""
    fab_link, _ = two_customers
    _expire(fab_link.link)
    page = client.get(f"/consent/{fab_link.token}/").content.decode()
    assert f"Contact the person at {settings.OPERATOR_NAME} who sent you the consent link" in page
    assert "mailto:" not in page


@pytest.mark.integration
@pytest.mark.django_db
def test_a_consent_given_in_another_organization_is_not_called_nothing_changed(
    client, operator_user, microsoft, contact
):
    """The URL to Microsoft edited to /organizations: a Litware admin accepts a Fabrikam link.

    Microsoft (cloudsim) records the consent in Litware and answers admin_consent=True with
    Litware's tenant; the portal refuses it, and the page says what happened at Microsoft.
    """
    _, issued = invite(Actor.operator(operator_user), ids.FABRIKAM_TENANT_ID)
    url = to_microsoft(client, issued.token).replace(ids.FABRIKAM_TENANT_ID, "organizations", 1)
    back = urlsplit(answer_at_microsoft(microsoft, url, "admin@litware.example", "approve"))
    assert parse_qs(back.query)["tenant"] == [ids.LITWARE_TENANT_ID]
    response = client.get(f"{back.path}?{back.query}")
    page = response.content.decode()
    assert response.status_code == 400
    assert "Microsoft has recorded that consent in that organization" in page
    assert ids.LITWARE_TENANT_ID in page and "Properties &gt; Delete" in page
    assert "Nothing was changed" not in page
    assert "onboarding@contoso.example" in page and "Request a new link" in page
    assert not ConsentLink.objects.get(pk=issued.link.pk).used_at


@pytest.mark.django_db
def test_an_answer_from_another_organization_without_consent_says_nothing_changed(
    client, two_customers
):
    fab_link, _ = two_customers
    location = client.post(f"/consent/{fab_link.token}/")["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    page = client.get(
        "/consent/callback/",
        {"error": "access_denied", "tenant": ids.LITWARE_TENANT_ID, "state": state},
    ).content.decode()
    assert "No consent was given" in page and "Nothing was changed" in page
    assert "recorded that consent" not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "code, offers_request",
    [("AADSTS650052", False), ("AADSTS50020", False), ("AADSTS900144", True)],
)
def test_a_failed_consent_offers_a_new_link_only_when_the_operator_must_act(
    client, two_customers, contact, code, offers_request
):
    fab_link, _ = two_customers
    state = parse_qs(urlsplit(client.post(f"/consent/{fab_link.token}/")["Location"]).query)
    page = client.get(
        "/consent/callback/",
        {"error": "invalid_request", "error_description": f"{code}: …", "state": state["state"]},
    ).content.decode()
    assert "onboarding@contoso.example" in page
    assert ('name="ref"' in page) is offers_request
    if offers_request:
        client.post("/consent/new-link/", {"ref": _request_form(page)})
        event = AuditEvent.objects.get(action=Action.CONSENT_LINK_REQUESTED)
        assert event.details["reason"] == "failed"
