"""Benchmark: sync 10,000 assignments to a cloudsim ACS resource with 50 ms added latency.

Prints the wall time and the requests cloudsim counted (its /stats) for:
1. a full sync (the reconcile service, in this process, as a Celery worker child runs it),
   repeated ``--repeat`` times from an empty resource (median, min and max);
2. a sequential one-PUT-per-assignment baseline, measured on a sample and extrapolated;
3. a second sync with nothing to change (it must send no writes);
4. the same full sync without added latency (what the emulator and the bookkeeping cost).

Usage: .venv/bin/python bench/sync.py [--assignments 10000] [--latency-ms 50] [--sample 200]
       [--repeat 5]
It prints figures; it is not a test. A temporary SQLite database and cloudsim state are used
(with DATABASE_URL set, that database instead: give it an empty one, it is migrated and filled);
cloudsim runs as its own process (as ACS would be remote), so its work does not compete with the
sync for this interpreter's GIL (it still shares this machine's cores). The process is prepared
as a worker child is: its start-up objects frozen (``portal.celery.freeze_startup_objects``) and
one ACS client built before timing (the first one in a process loads httpcore and the CA store,
once per worker process; printed separately).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))


def setup_django(var_dir: str) -> None:
    os.environ["PORTAL_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


class CloudSimProcess:
    """``python -m cloudsim`` on free ports, driven through its admin API."""

    def __init__(self, data_dir: Path, *options: str) -> None:
        """``options``: more of cloudsim's command-line options (``--scenario``, ``--fault``)."""
        self.data_dir = data_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloudsim", "--port", "0", "--reset",
             "--data-dir", str(data_dir), *options],
            cwd=BASE, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        endpoints = data_dir / "endpoints.json"
        deadline = time.monotonic() + 30
        while not endpoints.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("cloudsim did not start")
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written once every listener is up
        self.endpoints = json.loads(endpoints.read_text())
        self._ssl = ssl.create_default_context(cafile=self.endpoints["ca_file"])

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        import urllib.request

        request = urllib.request.Request(
            self.endpoints["admin_url"] + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self._ssl, timeout=60) as response:
            raw = response.read()
        return json.loads(raw) if raw else {}

    def portal_env(self) -> dict[str, str]:
        text = (self.data_dir / "portal.env").read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def writes(stats: dict) -> int:
    return sum(
        n for route, n in stats["routes"].items() if route.split()[1] in ("PUT", "PATCH", "DELETE")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sample", type=int, default=200, help="baseline PUTs actually sent")
    parser.add_argument("--repeat", type=int, default=5, help="full syncs timed (median)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-sync-")
    setup_django(tmp)

    from django.conf import settings

    from assignments import acs
    from assignments.models import AcsResource, Assignment, SyncRun, SyncState
    from assignments.sync import reconcile_resource
    from audit.models import AuditEvent
    from cloudsim import ids
    from portal.celery import freeze_startup_objects
    from portal.msconfig import microsoft_settings
    from tenants.models import CustomerTenant, TenantStatus

    freeze_startup_objects()  # as in every worker child (worker_process_init)

    cs = CloudSimProcess(Path(tmp) / "cloudsim")
    env = cs.portal_env()
    for key, value in microsoft_settings(lambda name, default: env.get(name, default)).items():
        setattr(settings, key, value)
    os.environ["ACS_DEMO_ACCESS_KEY"] = env["ACS_DEMO_ACCESS_KEY"]
    try:
        endpoint = next(r["endpoint"] for r in cs.endpoints["acs"] if r["name"] == ids.CONTOSO_ACS)
        resource = AcsResource.objects.create(
            name=ids.CONTOSO_ACS, endpoint=endpoint, key_env_var="ACS_DEMO_ACCESS_KEY"
        )
        started = time.perf_counter()
        with acs.client_for(resource) as client:  # "Test connection": the worker's first client
            list(client.list_assignments())
        first_client_s = time.perf_counter() - started
        tenant = CustomerTenant.objects.create(
            tenant_id=ids.FABRIKAM_TENANT_ID, display_name="Fabrikam", status=TenantStatus.VERIFIED
        )
        n = args.assignments
        Assignment.objects.bulk_create(
            (
                Assignment(
                    resource=resource,
                    tenant=tenant,
                    principal_type="user",
                    object_id=uuid.uuid4(),
                    client_ids=[ids.OPERATOR_APP_ID],
                )
                for _ in range(n)
            ),
            batch_size=2000,
        )
        # On this resource only: contoso-acs-eu serves the same sync without added latency.
        cs.admin(
            "POST",
            "/faults",
            {"kind": "latency", "service": ids.CONTOSO_ACS, "arg": str(args.latency_ms)},
        )
        latency = args.latency_ms / 1000
        concurrency, batch = settings.ACS_SYNC_CONCURRENCY, settings.ACS_SYNC_BATCH_SIZE

        def sync(target=resource) -> tuple[SyncRun, float, dict]:
            cs.admin("POST", "/stats/reset")
            run = SyncRun.objects.create(resource=target, trigger="manual")
            started = time.perf_counter()
            reconcile_resource(run_id=run.pk)
            elapsed = time.perf_counter() - started
            run.refresh_from_db()
            event = AuditEvent.objects.filter(action="sync.finished").latest("id")
            run.phases = event.details.get("seconds", {})
            return run, elapsed, cs.admin("GET", "/stats")

        timed = []
        for _ in range(max(1, args.repeat)):
            cs.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
            Assignment.objects.filter(resource=resource).update(sync_state=SyncState.PENDING)
            timed.append(sync())
            assert timed[-1][0].created == n and timed[-1][0].failed == 0, timed[-1][0].message
        timed.sort(key=lambda result: result[1])
        full, full_s, full_stats = timed[len(timed) // 2]  # the median run
        pages_before = 1  # the resource starts empty: one page
        batches = math.ceil(n / batch)
        bound = (pages_before + math.ceil(batches / concurrency)) * latency

        # Baseline: one signed PUT per assignment, one after the other, on a sample.
        sample = max(1, min(args.sample, n))
        cs.admin("POST", "/stats/reset")
        baseline_ids = [str(uuid.uuid4()) for _ in range(sample)]
        with acs.client_for(AcsResource(endpoint=endpoint, key_env_var="ACS_DEMO_ACCESS_KEY"),
                            concurrency=1) as client:  # fmt: skip
            started = time.perf_counter()
            for oid in baseline_ids:
                client.put_assignment(
                    oid,
                    tenant_id=ids.FABRIKAM_TENANT_ID,
                    principal_type="user",
                    client_ids=[ids.OPERATOR_APP_ID],
                )
            sample_s = time.perf_counter() - started
            for oid in baseline_ids:  # leave the resource as the portal wants it
                client.delete_assignment(oid)
        baseline_s = sample_s * n / sample

        again, again_s, again_stats = sync()

        # The same full sync without added latency (contoso-acs-eu): what the emulator's own
        # processing and the portal's bookkeeping cost, the floor under any latency bound.
        os.environ["ACS_KEY_BENCH_EU"] = next(
            r["access_key"] for r in cs.endpoints["acs"] if r["name"] == ids.CONTOSO_ACS_EU
        )
        eu = AcsResource.objects.create(
            name=ids.CONTOSO_ACS_EU,
            endpoint=next(
                r["endpoint"] for r in cs.endpoints["acs"] if r["name"] == ids.CONTOSO_ACS_EU
            ),
            key_env_var="ACS_KEY_BENCH_EU",
        )
        Assignment.objects.bulk_create(
            (
                Assignment(
                    resource=eu,
                    tenant=tenant,
                    principal_type=a.principal_type,
                    object_id=a.object_id,
                    client_ids=a.client_ids,
                )
                for a in Assignment.objects.filter(resource=resource)
            ),
            batch_size=2000,
        )
        floor, floor_s, _floor_stats = sync(eu)

        print(f"Sync benchmark: {n:,} assignments, {args.latency_ms} ms added ACS latency")
        print(
            f"  concurrency {concurrency}, merge-patch batches of {batch}, cloudsim rate limits on"
        )
        print(
            f"  first ACS client   {first_client_s:8.2f} s   (once per worker process, not timed)"
        )
        print(f"Full sync (all creates), median of {len(timed)}:")
        print(
            f"  wall time          {full_s:8.2f} s   status {full.status}, created {full.created}"
        )
        print(f"  all runs           {', '.join(f'{t:.2f}' for _r, t, _s in timed)} s")
        print(f"  requests sent      {full_stats['services'].get('acs', 0):8d}")
        print(f"  by route           {full_stats['routes']}")
        print(f"  latency bound      {bound:8.2f} s   ({pages_before} list page + {batches} batches"
              f" / {concurrency} in flight) x {args.latency_ms} ms")  # fmt: skip
        print(f"  wall / bound       {full_s / bound:8.2f} x  (target <= 1.5)")
        apply_bound = math.ceil(batches / concurrency) * latency
        print(f"  phases             {full.phases}")
        sending = full.phases.get("apply", 0)
        print(f"  sending phase      {sending:8.2f} s   vs its bound {apply_bound:.2f} s:"
              f" {sending / apply_bound:.2f} x")  # fmt: skip
        print(f"  same sync, 0 ms    {floor_s:8.2f} s   (no added latency: emulator + bookkeeping)")
        print(f"  its phases         {floor.phases}")
        print("Sequential baseline (one PUT per assignment, concurrency 1):")
        print(f"  measured           {sample_s:8.2f} s for {sample} PUTs"
              f" ({sample_s / sample * 1000:.1f} ms each)")  # fmt: skip
        print(f"  extrapolated       {baseline_s:8.2f} s for {n:,} (sample x {n / sample:.0f})")
        print(f"  speed-up           {baseline_s / full_s:8.1f} x  (target >= 20)")
        print("Second sync (nothing changed):")
        print(f"  wall time          {again_s:8.2f} s   unchanged {again.unchanged}")
        print(f"  phases             {again.phases}")
        print(f"  requests sent      {again_stats['services'].get('acs', 0):8d}")
        print(f"  by route           {again_stats['routes']}")
        print(f"  writes sent        {writes(again_stats):8d}     (must be 0)")
        return 0 if writes(again_stats) == 0 and full.failed == 0 else 1
    finally:
        cs.stop()


if __name__ == "__main__":
    raise SystemExit(main())
