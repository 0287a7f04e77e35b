"""The operator's journey on the real path: forms, a Celery worker, cloudsim's Graph and ACS.

An operator adds a Fabrikam group and a user to the demo resource, the change triggers a sync on
the worker, the run page reports it done, cloudsim holds both assignments and the access check
explains why the user can get a token. A CSV with bad rows changes nothing.
"""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assignments.models import Assignment, SyncRun
from cloudsim import ids

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_operator_adds_a_group_and_a_user_and_watches_them_reach_acs(
    celery_worker, cloudsim_clean, operator_client, verified_tenant_with_acs
):
    resource, tenant = verified_tenant_with_acs.resource, verified_tenant_with_acs.tenant
    add = reverse("assignments:assignment_add", args=[resource.pk])
    for fields in (
        {"principal_type": "group", "group": ids.FABRIKAM_SALES_GROUP},
        {"principal_type": "user", "user": "alex@fabrikam.example"},
    ):
        response = operator_client.post(add, {"tenant": tenant.pk, **fields})
        assert response.status_code == 302, response.content.decode()[-2000:]
    # Changes join the queued run; one made after it started gets the next run.
    run = SyncRun.objects.latest("pk")
    progress = reverse("assignments:run_progress", args=[run.pk])
    deadline = time.monotonic() + 60
    while not (data := operator_client.get(progress).json())["done"]:
        assert time.monotonic() < deadline, data
        time.sleep(0.3)
    assert data["fields"]["progress"] == 100 and data["fields"]["failed"] == 0
    assert sum(SyncRun.objects.values_list("created", flat=True)) == 2
    page = operator_client.get(reverse("assignments:run", args=[run.pk])).content.decode()
    assert "Every change reached the resource." in page
    remote = cloudsim_clean.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    assert {(a["objectId"], a["principalType"]) for a in remote} == {
        (ids.FABRIKAM_SALES_GROUP, "group"),
        (ids.FABRIKAM_ALEX, "user"),
    }
    check = operator_client.get(
        reverse("assignments:access_check"),
        {"resource": resource.pk, "tenant": tenant.pk, "user": "megan@fabrikam.example"},
    ).content.decode()
    assert "Yes: this user can get an ACS token" in check and "Sales" in check


def test_a_csv_with_bad_rows_changes_nothing(
    celery_worker, operator_client, verified_tenant_with_acs
):
    resource = verified_tenant_with_acs.resource
    text = (
        "principal_type,object_id,tenant_id,client_ids\n"
        f"group,{ids.FABRIKAM_SALES_GROUP},{ids.FABRIKAM_TENANT_ID},\n"
        f"user,nobody@fabrikam.example,{ids.FABRIKAM_TENANT_ID},\n"
    )
    url = reverse("assignments:import", args=[resource.pk])
    upload = SimpleUploadedFile("bad.csv", text.encode(), "text/csv")
    page = operator_client.post(url, {"file": upload}).content.decode()
    assert "1 of 2 rows are not valid" in page
    assert "<td>3</td>" in page and "Fabrikam has no user nobody@fabrikam.example" in page
    operator_client.post(url, {"confirm": "1", "csv_text": text})
    assert not Assignment.objects.exists() and not SyncRun.objects.exists()
