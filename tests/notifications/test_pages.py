"""The notification pages as operators, admins and auditors use them."""

from __future__ import annotations

import pytest

from audit.actions import Action
from audit.models import AuditEvent
from notifications.models import Delivery, Subscription, WebhookEndpoint
from notifications.transports.email import send_mail

pytestmark = pytest.mark.django_db


def _add(client, url, **extra):
    return client.post(
        "/notifications/webhooks/add/",
        {"name": "SOC", "url": url, "kinds": ["consent.lost", "sync.failed"], **extra},
    )


def test_an_operator_chooses_what_is_emailed_to_them(operator_client, operator_user):
    page = operator_client.get("/notifications/")
    assert b"Consent lost" in page.content and b"Sync failed or partial" in page.content
    response = operator_client.post("/notifications/", {"kinds": ["consent.lost", "sync.failed"]})
    assert response.status_code == 302
    assert Subscription.objects.get(user=operator_user).kinds == ["consent.lost", "sync.failed"]
    form = operator_client.get("/notifications/").context["form"]
    assert form["kinds"].value() == ["consent.lost", "sync.failed"]


def test_an_unknown_kind_is_a_form_error_not_a_500(operator_client, operator_user):
    response = operator_client.post("/notifications/", {"kinds": ["everything"]})
    assert response.status_code == 200
    assert b"Select a valid choice" in response.content
    assert not Subscription.objects.exists()


def test_an_auditor_reads_but_cannot_save_preferences(auditor_client):
    assert auditor_client.get("/notifications/").status_code == 200
    assert auditor_client.post("/notifications/", {"kinds": ["consent.lost"]}).status_code == 403
    assert not Subscription.objects.exists()


def test_the_secret_is_shown_once_and_never_again(admin_client, receiver):
    response = _add(admin_client, receiver.url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in response.content
    endpoint = WebhookEndpoint.objects.get()
    assert secret not in endpoint.secret_encrypted
    detail = admin_client.get(f"/notifications/webhooks/{endpoint.pk}/")
    assert secret.encode() not in detail.content
    assert secret not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_a_private_address_is_refused_with_a_message(admin_client):
    response = _add(admin_client, "https://10.0.0.8/hook")
    assert response.status_code == 200
    assert b"private, loopback or reserved address" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_operators_and_auditors_cannot_manage_endpoints(operator_client, receiver):
    assert _add(operator_client, receiver.url).status_code == 403
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_outcomes_and_redelivers(
    admin_client, receiver, django_capture_on_commit_callbacks, eager_celery
):
    _add(admin_client, receiver.url)
    endpoint = WebhookEndpoint.objects.get()
    receiver.secrets = []  # the receiver cannot verify: it answers 401
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/notifications/webhooks/{endpoint.pk}/ping/")
    page = admin_client.get(f"/notifications/webhooks/{endpoint.pk}/").content.decode()
    delivery = Delivery.objects.get()
    assert delivery.message_id in page
    assert "Retrying" in page and "401" in page and " ms" in page
    assert "The receiver answered 401 (an error)." in page

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/notifications/deliveries/{delivery.pk}/redeliver/")
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert AuditEvent.objects.filter(action=Action.NOTIFY_REDELIVERY).count() == 1


def test_rotating_shows_the_new_secret_once(admin_client, receiver):
    first = _add(admin_client, receiver.url).context["secret"]
    endpoint = WebhookEndpoint.objects.get()
    response = admin_client.post(f"/notifications/webhooks/{endpoint.pk}/rotate/")
    second = response.context["secret"]
    assert second != first and second.encode() in response.content
    assert b"previous one keeps signing too until" in response.content


def test_the_outbox_shows_mail_of_the_file_backend_to_admins_only(
    admin_client, operator_user, settings, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    send_mail(
        to="admin@fabrikam.example",
        template="webhook_disabled",
        context={"endpoint": "SOC", "reason": "15 failed attempts in a row", "url": "x"},
    )
    page = admin_client.get("/notifications/outbox/")
    assert b"Webhook endpoint SOC was disabled" in page.content
    assert b"admin@fabrikam.example" in page.content
    admin_client.force_login(operator_user)
    assert admin_client.get("/notifications/outbox/").status_code == 403


def test_the_url_path_that_may_carry_a_token_stays_out_of_the_audit_log_and_auditor_pages(
    admin_client, auditor_user, receiver
):
    url = receiver.url + "/T0001/B0002/s3cr3tT0k3n?sig=abc"
    _add(admin_client, url)
    endpoint = WebhookEndpoint.objects.get()
    assert b"s3cr3tT0k3n" in admin_client.get(f"/notifications/webhooks/{endpoint.pk}/").content
    created = AuditEvent.objects.get(action=Action.WEBHOOK_CREATED)
    assert created.details["url"] == endpoint.shown_url
    assert "s3cr3tT0k3n" not in str(created.details)
    admin_client.force_login(auditor_user)
    for page in ("/notifications/webhooks/", f"/notifications/webhooks/{endpoint.pk}/"):
        assert b"s3cr3tT0k3n" not in admin_client.get(page).content
