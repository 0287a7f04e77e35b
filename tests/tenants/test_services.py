"""Tenant and consent link services: effects, audit events and refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from cloudsim import ids
from tenants import errors, lifecycle
from tenants.actions import consent, groups, registration
from tenants.models import ConsentLink, TenantStatus

pytestmark = pytest.mark.django_db


def test_register_by_guid_writes_one_audit_event(microsoft, actor):
    tenant = registration.register_tenant(actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID.upper())
    assert str(tenant.tenant_id) == ids.FABRIKAM_TENANT_ID
    assert tenant.status == TenantStatus.REGISTERED and not tenant.is_home
    event = AuditEvent.objects.get(action="tenant.created")
    assert event.tenant_id == tenant.pk and event.actor_label == actor.label


def test_home_tenant_is_flagged(microsoft, actor, settings):
    settings.ENTRA_HOME_TENANT_ID = ids.CONTOSO_TENANT_ID
    assert registration.register_tenant(actor=actor, tenant_ref=ids.CONTOSO_TENANT_ID).is_home


def test_registering_twice_is_refused(actor, fabrikam):
    with pytest.raises(errors.TenantError, match="already registered"):
        registration.register_tenant(actor=actor, tenant_ref=ids.FABRIKAM_TENANT_ID)


@pytest.mark.parametrize("ref", ["", "fab12ca7-0000-4000", "not a domain", "x" * 300])
def test_malformed_reference_is_refused_without_asking_microsoft(actor, ref):
    with pytest.raises(errors.TenantError, match="neither a tenant id nor a domain"):
        registration.register_tenant(actor=actor, tenant_ref=ref)


def test_status_moves_only_along_allowed_transitions(fabrikam):
    fabrikam.status = "gone"  # a status the table does not know has no move at all
    with pytest.raises(errors.InvalidTransition):
        lifecycle.apply(fabrikam, lifecycle.Event.CHECK_PASSED)


def test_link_expires_after_configured_days(actor, fabrikam, settings):
    settings.CONSENT_LINK_DAYS = 3
    link = consent.issue_consent_link(actor=actor, tenant=fabrikam).link
    assert abs(link.expires_at - (timezone.now() + timedelta(days=3))) < timedelta(minutes=1)


@pytest.mark.parametrize("reason", ["expired", "revoked", "used"])
def test_unusable_links_do_not_open_and_change_nothing(issued, actor, reason):
    link = issued.link
    if reason == "expired":
        ConsentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
    elif reason == "revoked":
        consent.revoke_consent_link(actor=actor, link=link)
    else:
        ConsentLink.objects.filter(pk=link.pk).update(used_at=timezone.now())
    before = ConsentLink.objects.values().get(pk=link.pk)
    with pytest.raises(consent.LinkUnavailable) as raised:
        consent.open_consent_link(token=issued.token)
    assert raised.value.reason == reason
    with pytest.raises(consent.LinkUnavailable):
        consent.start_admin_consent(token=issued.token)
    assert ConsentLink.objects.values().get(pk=link.pk) == before


def test_unknown_token_is_unavailable(issued):
    with pytest.raises(consent.LinkUnavailable, match="unknown"):
        consent.find_link(issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B"))


def test_first_opening_is_recorded_once(issued):
    consent.open_consent_link(token=issued.token, ip="203.0.113.9")
    consent.open_consent_link(token=issued.token, ip="203.0.113.9")
    event = AuditEvent.objects.get(action="consent.link_opened")
    assert event.actor_type == "customer-admin" and event.ip == "203.0.113.9"


def test_email_sends_the_link_and_never_stores_the_token(issued, actor):
    to = consent.email_consent_link(actor=actor, link=issued.link, token=issued.token)
    assert to == "admin@fabrikam.example"
    assert issued.url in mail.outbox[0].body
    event = AuditEvent.objects.get(action="consent.link_emailed")
    assert issued.token not in str(event.details)


def test_email_needs_the_links_own_token(issued, actor):
    with pytest.raises(errors.TenantError):
        consent.email_consent_link(actor=actor, link=issued.link, token="x" * 43)


def test_reissue_revokes_the_old_link(issued, actor):
    new = consent.reissue_consent_link(actor=actor, link=issued.link)
    assert ConsentLink.objects.get(pk=issued.link.pk).revoked_at
    assert new.link.admin_email == "admin@fabrikam.example" and new.token != issued.token
    consent.open_consent_link(token=new.token)


def test_groups_need_consent_first(actor, fabrikam):
    with pytest.raises(errors.TenantError, match="consented"):
        groups.add_customer_group(actor=actor, tenant=fabrikam, object_id=ids.FABRIKAM_SALES_GROUP)


def test_reissue_writes_one_event(issued, actor):
    before = AuditEvent.objects.count()
    new = consent.reissue_consent_link(actor=actor, link=issued.link)
    event = AuditEvent.objects.get(pk=AuditEvent.objects.latest("id").pk)
    assert AuditEvent.objects.count() == before + 1
    assert event.action == "consent.link_created"
    assert event.details["replaces_link"] == issued.link.pk and event.details["link"] == new.link.pk
