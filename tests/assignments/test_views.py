"""The assignment pages as operators and auditors see them."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from django.urls import reverse

from assignments.models import AcsResource, Assignment, DriftEntry, SyncRun, SyncState
from audit.models import AuditEvent
from cloudsim import ids

pytestmark = pytest.mark.django_db

SECRET = "c2VjcmV0LWtleS1uZXZlci1zaG93bg=="


@pytest.fixture
def auditor(auditor_user):
    """A second browser, signed in as the auditor (``auditor_client`` shares ``client``)."""
    from django.test import Client

    browser = Client()
    browser.force_login(auditor_user)
    return browser


def test_resource_page_names_the_variable_but_never_shows_the_key(
    operator_client, offline_resource, monkeypatch
):
    monkeypatch.setenv("ACS_KEY_OFFLINE", SECRET)
    for url in (
        reverse("assignments:resources"),
        reverse("assignments:resource", args=[offline_resource.pk]),
    ):
        page = operator_client.get(url).content.decode()
        assert "ACS_KEY_OFFLINE" in page and SECRET not in page
    assert "not set on this server" not in page


def test_an_admin_adds_a_resource_and_an_auditor_cannot(admin_client, auditor):
    data = {
        "name": "acs-eu",
        "endpoint": "https://acs-eu.communication.azure.com",
        "auth_method": "key",
        "key_env_var": "ACS_KEY_EU",
        "enabled": "on",
    }
    assert auditor.post(reverse("assignments:resource_create"), data).status_code == 403
    assert not AcsResource.objects.exists()
    response = admin_client.post(reverse("assignments:resource_create"), data)
    resource = AcsResource.objects.get(name="acs-eu")
    assert response.url == reverse("assignments:resource", args=[resource.pk])


def test_a_key_pasted_where_the_variable_name_goes_is_refused(admin_client):
    data = {
        "name": "x",
        "endpoint": "https://x.communication.azure.com",
        "auth_method": "key",
        "key_env_var": SECRET,
    }
    page = admin_client.post(reverse("assignments:resource_create"), data).content.decode()
    assert "not the key itself" in page and not AcsResource.objects.exists()


def test_test_connection_reports_success_against_cloudsim(operator_client, acs_resource):
    url = reverse("assignments:resource", args=[acs_resource.pk])
    page = operator_client.post(url, {"action": "test"}, follow=True).content.decode()
    assert "Connected: the resource accepted the credentials" in page
    assert AuditEvent.objects.get(action="resource.tested").details["ok"] is True


def test_adding_the_whole_tenant_from_the_form(
    operator_client, offline_resource, fabrikam, settings
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    url = reverse("assignments:assignment_add", args=[offline_resource.pk])
    response = operator_client.post(
        url, {"tenant": fabrikam.pk, "principal_type": "tenant", "group": ""}
    )
    assert response.status_code == 302
    a = Assignment.objects.get()
    assert (str(a.object_id), a.client_ids) == (ids.FABRIKAM_TENANT_ID, [ids.OPERATOR_APP_ID])
    assert response.url.startswith(url)  # back to the search, for the next one
    listing = operator_client.get(
        reverse("assignments:resource_assignments", args=[offline_resource.pk])
    ).content.decode()
    assert "Fabrikam" in listing and "Pending" in listing


def test_unverified_tenant_is_refused_on_the_form(operator_client, offline_resource, litware):
    url = reverse("assignments:assignment_add", args=[offline_resource.pk])
    page = operator_client.post(
        url, {"tenant": litware.pk, "principal_type": "tenant", "client_ids": ids.OPERATOR_APP_ID}
    ).content.decode()
    assert "not verified" in page and not Assignment.objects.exists()


def test_auditor_reads_the_list_but_cannot_remove(auditor_client, offline_resource, fabrikam):
    a = Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=ids.FABRIKAM_TENANT_ID,
        display_name="Fabrikam",
        client_ids=[ids.OPERATOR_APP_ID],
    )
    page = auditor_client.get(
        reverse("assignments:resource_assignments", args=[offline_resource.pk])
    )
    assert "Fabrikam" in page.content.decode() and "Remove" not in page.content.decode()
    url = reverse("assignments:assignment_remove", args=[offline_resource.pk, a.pk])
    assert auditor_client.post(url).status_code == 403
    a.refresh_from_db()
    assert a.desired == "present"


def test_filters_narrow_the_list_and_counts_stay(operator_client, offline_resource, fabrikam):
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="tenant",
        object_id=ids.FABRIKAM_TENANT_ID,
        display_name="Whole Fabrikam",
        client_ids=[ids.OPERATOR_APP_ID],
        sync_state=SyncState.SYNCED,
    )
    Assignment.objects.create(
        resource=offline_resource,
        tenant=fabrikam,
        principal_type="user",
        object_id=ids.FABRIKAM_ADELE,
        display_name="Adele Vance",
        client_ids=[ids.OPERATOR_APP_ID],
        sync_state=SyncState.FAILED,
    )
    url = reverse("assignments:resource_assignments", args=[offline_resource.pk])
    page = operator_client.get(url, {"sync_state": "failed"}).content.decode()
    assert (
        "Adele Vance" in page
        and "Whole Fabrikam" not in page
        and "1 assignment matches this filter" in page
    )
    page = operator_client.get(url, {"q": "adele"}).content.decode()
    assert "Adele Vance" in page and "Whole Fabrikam" not in page
    tenant_page = operator_client.get(reverse("assignments:tenant_assignments", args=[fabrikam.pk]))
    assert "Whole Fabrikam" in tenant_page.content.decode()


CSV_BAD = (
    "principal_type,object_id,tenant_id,client_ids\n"
    f"tenant,,{ids.FABRIKAM_TENANT_ID},\n"
    f"robot,{ids.FABRIKAM_ADELE},{ids.FABRIKAM_TENANT_ID},\n"
    f"user,{ids.FABRIKAM_ADELE},not-a-tenant,\n"
    f"group,{ids.FABRIKAM_SUPPORT_GROUP},{ids.FABRIKAM_TENANT_ID},\n"
    f"user,{ids.FABRIKAM_ALEX},{ids.FABRIKAM_TENANT_ID},abc\n"
    f"user,{ids.LITWARE_USER},{ids.LITWARE_TENANT_ID},\n"
)


def upload(client, resource, text, name="a.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("assignments:import", args=[resource.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, text.encode(), "text/csv")})


def confirm_fields(page: str) -> dict[str, str]:
    """The hidden fields of the preview's confirm form, as the browser would post them."""
    form = page[page.index('name="confirm"') - 200 :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    for name, value in re.findall(
        r'<textarea[^>]* name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        fields[name] = html.unescape(value)
    return fields


def test_bad_csv_rows_are_listed_with_line_and_reason_and_nothing_applies(
    operator_client, offline_resource, fabrikam, litware, settings
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    page = upload(operator_client, offline_resource, CSV_BAD).content.decode()
    assert "5 of 6 rows are not valid" in page
    for line, reason in [
        (3, "principal type must be user, group or tenant"),
        (4, "is not a GUID"),
        (5, "not one of Fabrikam"),
        (6, "Client id &#x27;abc&#x27; is not a GUID"),
        (7, "Litware is invited, not verified"),
    ]:
        assert f"<td>{line}</td>" in page and reason in page, (line, reason)
    assert "Import 6 rows" not in page
    # Confirming anyway (a forged post) applies nothing either.
    url = reverse("assignments:import", args=[offline_resource.pk])
    operator_client.post(url, {"confirm": "1", "csv_text": CSV_BAD})
    assert not Assignment.objects.exists()
    assert not AuditEvent.objects.filter(action="assignment.imported").exists()


def test_good_csv_previews_then_applies_in_one_go(
    operator_client, offline_resource, fabrikam, settings
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    text = (
        "principal_type,object_id,tenant_id,client_ids\n"
        f"tenant,,{ids.FABRIKAM_TENANT_ID},\n"
        f"group,{ids.FABRIKAM_SALES_GROUP},{ids.FABRIKAM_TENANT_ID},{ids.OPERATOR_APP_ID};0bea7a00-0000-4000-8000-0000000000b2\n"
    )
    page = upload(operator_client, offline_resource, text).content.decode()
    assert "All 2 rows are valid" in page and not Assignment.objects.exists()
    url = reverse("assignments:import", args=[offline_resource.pk])
    response = operator_client.post(url, confirm_fields(page))
    assert response.status_code == 302 and Assignment.objects.count() == 2
    assert AuditEvent.objects.get(action="assignment.imported").details["added"] == 2
    export = operator_client.get(reverse("assignments:export", args=[offline_resource.pk]))
    body = export.content.decode()
    assert body.splitlines()[0].startswith("principal_type,object_id,tenant_id,client_ids")
    assert (
        f"group,{ids.FABRIKAM_SALES_GROUP},{ids.FABRIKAM_TENANT_ID},{ids.OPERATOR_APP_ID};0bea7a00"
        in body
    )


def test_run_page_polls_progress_until_done(operator_client, offline_resource):
    run = SyncRun.objects.create(
        resource=offline_resource,
        trigger="manual",
        status="running",
        planned=200,
        done=50,
        created=50,
    )
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert f'data-poll-url="{reverse("assignments:run_progress", args=[run.pk])}"' in page
    assert 'data-field="progress"' in page and 'value="25"' in page
    data = operator_client.get(reverse("assignments:run_progress", args=[run.pk])).json()
    assert data["fields"]["progress"] == 25 and data["done"] is False
    run.status, run.failed, run.errors = (
        "partial",
        1,
        [{"object_id": "x", "op": "create", "reason": "InvalidRequestBody"}],
    )
    run.save()
    assert operator_client.get(reverse("assignments:run_progress", args=[run.pk])).json()["done"]
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "data-poll-url" not in page and "InvalidRequestBody" in page


def test_drift_adopt_from_the_page(operator_client, auditor, offline_resource, fabrikam):
    from django.utils import timezone

    entry = DriftEntry.objects.create(
        resource=offline_resource,
        object_id=ids.FABRIKAM_ALEX,
        tenant_id=ids.FABRIKAM_TENANT_ID,
        principal_type="user",
        client_ids=[ids.OPERATOR_APP_ID],
        last_seen_at=timezone.now(),
    )
    url = reverse("assignments:drift", args=[offline_resource.pk])
    assert auditor.post(url, {"entry": entry.pk, "action": "adopt"}).status_code == 403
    page = operator_client.post(
        url, {"entry": entry.pk, "action": "adopt"}, follow=True
    ).content.decode()
    assert "now managed by the portal" in page
    assert Assignment.objects.get().adopted and not DriftEntry.objects.exists()


def test_a_csv_of_four_megabytes_previews_and_confirms(
    operator_client, offline_resource, fabrikam, settings
):
    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    note = "x" * 2000  # an extra column the import ignores, as in a hand-edited export
    rows = [f"user,{uuid.UUID(int=i + 1)},{ids.FABRIKAM_TENANT_ID},,{note}" for i in range(2000)]
    text = "principal_type,object_id,tenant_id,client_ids,note\n" + "\n".join(rows) + "\n"
    assert 2.5 * 1024 * 1024 < len(text) < 5 * 1024 * 1024
    page = upload(operator_client, offline_resource, text, "big.csv").content.decode()
    assert "All 2000 rows are valid" in page
    url = reverse("assignments:import", args=[offline_resource.pk])
    response = operator_client.post(url, confirm_fields(page))
    assert response.status_code == 302 and Assignment.objects.count() == 2000
    assert "up to 5 MB" in page  # the limit is stated
    event = AuditEvent.objects.get(action="assignment.imported")
    assert (event.details["file"], event.details["added"]) == ("big.csv", 2000)


def test_a_preview_is_confirmed_only_by_the_operator_who_uploaded_it(
    operator_client, offline_resource, fabrikam, settings, make_user
):
    from django.test import Client

    settings.ENTRA_CLIENT_ID = ids.OPERATOR_APP_ID
    text = f"principal_type,object_id,tenant_id,client_ids\ntenant,,{ids.FABRIKAM_TENANT_ID},\n"
    page = upload(operator_client, offline_resource, text).content.decode()
    other = Client()
    other.force_login(make_user("charlie@contoso.example"))
    url = reverse("assignments:import", args=[offline_resource.pk])
    response = other.post(url, confirm_fields(page), follow=True)
    assert "has expired or is not yours" in response.content.decode()
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("value", ["abc", "1e3", "٣", "-1", "9" * 30])
def test_malformed_ids_in_the_add_and_drift_pages_are_no_500(
    operator_client, offline_resource, value
):
    add = reverse("assignments:assignment_add", args=[offline_resource.pk])
    assert operator_client.get(add, {"tenant": value}).status_code == 200
    drift = reverse("assignments:drift", args=[offline_resource.pk])
    response = operator_client.post(drift, {"entry": value, "action": "adopt"}, follow=True)
    assert response.status_code == 200
    assert "no longer listed" in response.content.decode()
