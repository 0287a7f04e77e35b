"""A platform engineer scrapes /metrics after a sweep and a sync that ran on a real Celery worker
against cloudsim: the queue filled by the sweep, the tasks by queue, Microsoft's answers by
status, the sync's entries, tenants by status and page latency by route are all there."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from assignments.models import AcsResource, SyncRun
from cloudsim import ids
from portal import queues
from portal.celery import app
from tenants.models import ConsentCheck, CustomerTenant, TenantStatus
from tenants.tasks import verify_all_tenants

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "scrape-me-" + "x" * 24


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            # This test process serves the scrape as compose's web would, so a series can come
            # both from the worker's folder and from this process's own counters (other tests
            # recorded syncs here): add them up, as Prometheus's sum() would.
            key = (s.name, tuple(sorted(s.labels.items())))
            samples[key] = samples.get(key, 0.0) + s.value
    return samples


def total(samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)


@pytest.fixture
def scraping(settings, monkeypatch, celery_worker):
    """The endpoint on, reading the worker's multiprocess folder as compose's web would."""
    settings.METRICS_TOKEN = TOKEN
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", celery_worker.env["PROMETHEUS_MULTIPROC_DIR"])


def test_a_sweep_and_a_sync_show_up_in_the_metrics(
    scraping, celery_worker, microsoft, operator_client
):
    microsoft.admin("POST", f"/tenants/{ids.FABRIKAM_TENANT_ID}/consent")
    microsoft.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
    CustomerTenant.objects.create(
        tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", status=TenantStatus.CONSENTED
    )
    before = scrape(operator_client)
    # Microsoft throttles the check's first Graph call once (Retry-After: 0): it is retried.
    microsoft.admin("POST", "/faults", {"kind": "429", "service": "graph", "arg": "0", "times": 1})

    # The sweep queues one check per consented tenant on `periodic`; while no worker takes
    # them, the scrape shows them waiting.
    replies = app.control.cancel_consumer(queues.PERIODIC, reply=True, timeout=5)
    assert replies, "the worker did not answer the remote control"
    try:
        assert verify_all_tenants() == 1
        depth = scrape(operator_client)
        assert total(depth, "portal_celery_queue_depth", queue=queues.PERIODIC) == 1
    finally:
        app.control.add_consumer(queues.PERIODIC, reply=True, timeout=5)
    wait_until(lambda: ConsentCheck.objects.exists(), "the periodic check never ran")
    wait_until(
        lambda: total(scrape(operator_client), "portal_celery_queue_depth") == 0,
        "the queue never drained",
    )

    # "Sync now" on a resource with one tenant-wide assignment, run by the worker.
    resource = AcsResource.objects.create(
        name=ids.CONTOSO_ACS,
        endpoint=microsoft.acs_resources[ids.CONTOSO_ACS]["endpoint"],
        key_env_var="ACS_DEMO_ACCESS_KEY",
    )
    tenant = CustomerTenant.objects.get()
    tenant.status = TenantStatus.VERIFIED
    tenant.save(update_fields=["status"])
    response = operator_client.post(
        reverse("assignments:assignment_add", args=[resource.pk]),
        {"tenant": tenant.pk, "principal_type": "tenant"},
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    wait_until(
        lambda: SyncRun.objects.filter(finished_at__isnull=False, created__gte=1).exists(),
        "the sync never finished",
    )
    operator_client.get(reverse("tenants:list"))

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    def finished_sync_counted() -> bool:
        nonlocal after
        after = scrape(operator_client)
        return grew("portal_sync_entries_total", outcome="created") >= 1

    after: dict = {}
    wait_until(finished_sync_counted, "the sync's entries never reached the metrics", 15)
    assert (
        grew(
            "portal_celery_tasks_total",
            task="tenants.tasks.verify_tenant",
            queue=queues.PERIODIC,
            state="SUCCESS",
        )
        == 1
    )
    assert grew("portal_celery_tasks_total", queue=queues.INTERACTIVE, state="SUCCESS") >= 1
    assert grew("portal_celery_task_duration_seconds_count", queue=queues.PERIODIC) == 1
    # The sweep itself: it ran and queued its one tenant.
    assert grew("portal_sweeps_total", sweep="verify", outcome="ran") == 1
    assert grew("portal_sweep_items_total", sweep="verify", outcome="queued") == 1
    # The check's login call is not required here: after other tests its token may come from
    # a cache; its Graph calls and the sync's ACS calls always happen.
    assert grew("portal_microsoft_calls_total", service="acs", status="200") >= 1
    # The check's Graph calls by status, the throttled one included.
    assert grew("portal_microsoft_calls_total", service="graph", status="429") == 1
    assert grew("portal_microsoft_calls_total", service="graph", status="200") >= 3
    assert grew("portal_sync_runs_total") >= 1
    assert total(after, "portal_tenants", status="verified") == 1
    assert total(after, "portal_tenants", status="revoked") == 0
    # Latency by route name, never by raw path (paths carry ids and consent tokens).
    assert total(after, "portal_http_request_duration_seconds_count", view="tenants:list") >= 1
    assert not any("/" in dict(labels).get("view", "") for (_n, labels) in after)


def test_metrics_answer_only_the_bearer_of_the_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token")
    assert wrong.status_code == 401 and b"portal_" not in wrong.content
    # Prometheus scrapes the container by its service name, not one of the allowed hosts.
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="web:8000")
    assert right.status_code == 200 and b"portal_tenants" in right.content
