"""Benchmark: sync 10,000 (or 100,000) assignments to a cloudsim ACS resource with 50 ms latency.

For each size given (``--assignments 10000,100000``) it prints the wall time, the latency bound,
their ratio, the peak resident memory of the process doing the sync, and the requests cloudsim
counted (its /stats), for:
1. a full sync (the reconcile service in a worker process of its own, prepared as a Celery
   worker child is), repeated ``--repeat`` times from an empty resource (median, min and max);
2. a sequential one-PUT-per-assignment baseline, measured on a sample and extrapolated;
3. a second sync with nothing to change (it must send no writes);
4. the same full sync without added latency (what the emulator and the bookkeeping cost).
Then, with two sizes or more, how the largest compares with the smallest (targets: wall time
at most 1.3 x the bound at every size; peak memory of the largest at most 1.5 x the smallest's).

Usage: .venv/bin/python bench/sync.py [--assignments 10000[,100000]] [--latency-ms 50]
       [--sample 200] [--repeat 3] [--profile DIR]
It prints figures; it is not a test. A temporary SQLite database and cloudsim state are used
(with DATABASE_URL set, that database instead: give it an empty one, it is migrated and filled);
cloudsim runs as its own process (as ACS would be remote), so its work does not compete with the
sync for this interpreter's GIL (it still shares this machine's cores). Every sync runs in a
fresh process (``--worker``), so its peak RSS (``getrusage``) is the sync's alone, not the
benchmark's: Django and the apps loaded, its start-up objects frozen
(``portal.celery.freeze_startup_objects``) and one ACS client built before timing (the first one
in a process loads httpcore and the CA store, once per worker process; printed separately).
``--profile DIR`` writes a cProfile of each full sync there (``python -m pstats``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource as rusage
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
RSS_TARGET = 1.5  # peak RSS of the largest size / the smallest's
BOUND_TARGET = 1.3  # full sync wall time / latency bound, at every size


def setup_django(var_dir: str, *, migrate: bool = True) -> None:
    os.environ["PORTAL_VAR_DIR"] = var_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)


def rss_kb() -> int:
    """This process's resident memory now (VmRSS), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile_pool_threads(client_class) -> list:
    """cProfile the calling thread and every task the ACS client runs on its pool (cProfile
    alone sees one thread). The first profiler is the caller's, to enable around the work."""
    import cProfile
    import threading

    profilers = [cProfile.Profile()]
    local = threading.local()
    submit = client_class.submit

    def profiled_submit(self, fn, *args):
        def run(*inner):
            profiler = getattr(local, "profiler", None)
            if profiler is None:
                profiler = local.profiler = cProfile.Profile()
                profilers.append(profiler)
            profiler.enable()
            try:
                return fn(*inner)
            finally:
                profiler.disable()

        return submit(self, run, *args)

    client_class.submit = profiled_submit
    return profilers


def worker(run_id: int, profile: str) -> int:
    """One sync in this fresh process, as a Celery worker child runs it; prints JSON figures."""
    setup_django(os.environ["PORTAL_VAR_DIR"], migrate=False)
    from assignments import acs
    from assignments.models import SyncRun
    from assignments.sync import reconcile_resource
    from portal.celery import freeze_startup_objects

    run = SyncRun.objects.select_related("resource").get(pk=run_id)
    started = time.perf_counter()
    with acs.client_for(run.resource) as client:  # the worker's first client, not timed
        client.get_assignment(str(uuid.UUID(int=0)))
    first_client_s = time.perf_counter() - started
    freeze_startup_objects()  # as in every worker child (worker_process_init)
    before = rss_kb()
    profilers = profile_pool_threads(acs.AcsClient) if profile else []
    cpu_before = cpu_seconds(rusage.getrusage(rusage.RUSAGE_SELF))
    started = time.perf_counter()
    if profile:
        profilers[0].enable()
    reconcile_resource(run_id=run_id)
    if profile:
        profilers[0].disable()
    elapsed = time.perf_counter() - started
    usage = rusage.getrusage(rusage.RUSAGE_SELF)
    if profile:
        import pstats

        stats = pstats.Stats(profilers[0])
        for other in profilers[1:]:
            stats.add(other)
        stats.dump_stats(profile)
    print(json.dumps({"seconds": elapsed, "rss_before_kb": before,
                      "peak_rss_kb": usage.ru_maxrss,  # KiB on Linux
                      "cpu_s": cpu_seconds(usage) - cpu_before,
                      "first_client_s": first_client_s}))  # fmt: skip
    return 0


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
        self.acs_resources = {r["name"]: r for r in self.endpoints["acs"]}
        self._ssl = ssl.create_default_context(cafile=self.endpoints["ca_file"])

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        import urllib.request

        request = urllib.request.Request(
            self.endpoints["admin_url"] + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=self._ssl, timeout=300) as response:
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
    parser.add_argument("--assignments", default="10000", help="sizes, comma-separated")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--sample", type=int, default=200, help="baseline PUTs actually sent")
    parser.add_argument("--repeat", type=int, default=3, help="full syncs timed (median)")
    parser.add_argument("--profile", default="", help="write a cProfile per full sync here")
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.profile_to)
    sizes = [int(n.replace("_", "")) for n in args.assignments.split(",") if n.strip()]
    tmp = tempfile.mkdtemp(prefix="bench-sync-")
    try:
        setup_django(tmp)
        return Bench(Path(tmp), args).run(sizes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Bench:
    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args = tmp, args
        self.latency = args.latency_ms / 1000

    def run(self, sizes: list[int]) -> int:
        from django.conf import settings

        from cloudsim import ids
        from portal.msconfig import microsoft_settings

        self.cs = cs = CloudSimProcess(self.tmp / "cloudsim")
        self.env = env = cs.portal_env()
        for key, value in microsoft_settings(lambda name, default: env.get(name, default)).items():
            setattr(settings, key, value)
        os.environ["ACS_DEMO_ACCESS_KEY"] = env["ACS_DEMO_ACCESS_KEY"]
        os.environ["ACS_KEY_BENCH_EU"] = cs.acs_resources[ids.CONTOSO_ACS_EU]["access_key"]
        try:
            # On contoso-acs only: contoso-acs-eu serves the same sync without added latency.
            cs.admin("POST", "/faults", {"kind": "latency", "service": ids.CONTOSO_ACS,
                                         "arg": str(self.args.latency_ms)})  # fmt: skip
            results = [self.measure(n) for n in sizes]
        finally:
            cs.stop()
        ok = all(r["ok"] for r in results)
        if len(results) > 1:
            small, large = min(results, key=lambda r: r["n"]), max(results, key=lambda r: r["n"])
            growth = large["full_rss_kb"] / small["full_rss_kb"]
            again = large["again_rss_kb"] / small["again_rss_kb"]
            print(f"Scale: {large['n']:,} against {small['n']:,} assignments")
            for r in results:
                print(f"  {r['n']:>9,}  wall / bound {r['ratio']:5.2f} x   peak RSS full sync "
                      f"{r['full_rss_kb'] / 1024:6.1f} MB, no-change sync "
                      f"{r['again_rss_kb'] / 1024:6.1f} MB")  # fmt: skip
            print(f"  peak RSS growth    {growth:8.2f} x full sync, {again:.2f} x no-change sync"
                  f"  (target <= {RSS_TARGET})")  # fmt: skip
            ok = ok and growth <= RSS_TARGET
        return 0 if ok else 1

    def sync(self, target, label: str = "") -> dict:
        """One sync of ``target`` in a fresh worker process; its run, figures and cloudsim stats."""
        from assignments.models import SyncRun
        from audit.models import AuditEvent

        self.cs.admin("POST", "/stats/reset")
        run = SyncRun.objects.create(resource=target, trigger="manual")
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(run.pk)]
        if self.args.profile and label:
            Path(self.args.profile).mkdir(parents=True, exist_ok=True)
            command += ["--profile-to", str(Path(self.args.profile) / f"{label}.prof")]
        cloudsim_cpu = process_cpu_seconds(self.cs.proc.pid)
        done = subprocess.run(
            command, cwd=BASE, env={**os.environ, **self.env}, capture_output=True, text=True,
            check=False,
        )  # fmt: skip
        if done.returncode:
            raise SystemExit(f"the sync worker failed:\n{done.stderr[-3000:]}")
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["cloudsim_cpu_s"] = process_cpu_seconds(self.cs.proc.pid) - cloudsim_cpu
        run.refresh_from_db()
        event = AuditEvent.objects.filter(action="sync.finished").latest("id")
        return {**figures, "run": run, "phases": event.details.get("seconds", {}),
                "stats": self.cs.admin("GET", "/stats")}  # fmt: skip

    def measure(self, n: int) -> dict:
        from django.conf import settings

        from assignments import acs
        from assignments.models import AcsResource, Assignment, SyncRun, SyncState
        from assignments.testing import add_users, empty_resource
        from cloudsim import ids

        cs, args, latency = self.cs, self.args, self.latency
        SyncRun.objects.all().delete()
        Assignment.objects.all().delete()
        AcsResource.objects.all().delete()
        resource = empty_resource(cs)
        add_users(resource, n)
        concurrency, batch = settings.ACS_SYNC_CONCURRENCY, settings.ACS_SYNC_BATCH_SIZE

        timed = []
        for i in range(max(1, args.repeat)):
            cs.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
            Assignment.objects.filter(resource=resource).update(sync_state=SyncState.PENDING)
            timed.append(self.sync(resource, label=f"full-{n}-{i + 1}"))
            run = timed[-1]["run"]
            assert run.created == n and run.failed == 0, run.message
        timed.sort(key=lambda result: result["seconds"])
        full = timed[len(timed) // 2]  # the median run
        full_s = full["seconds"]
        pages_before = 1  # the resource starts empty: one page
        batches = math.ceil(n / batch)
        bound = (pages_before + math.ceil(batches / concurrency)) * latency

        # Baseline: one signed PUT per assignment, one after the other, on a sample.
        sample = max(1, min(args.sample, n))
        cs.admin("POST", "/stats/reset")
        baseline_ids = [str(uuid.uuid4()) for _ in range(sample)]
        with acs.client_for(resource, concurrency=1) as client:
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

        again = self.sync(resource)

        # The same full sync without added latency (contoso-acs-eu): what the emulator's own
        # processing and the portal's bookkeeping cost, the floor under any latency bound.
        eu = empty_resource(cs, ids.CONTOSO_ACS_EU, key_env_var="ACS_KEY_BENCH_EU")
        add_users(eu, n)
        floor = self.sync(eu, label=f"floor-{n}")

        mb = 1024
        ratio = full_s / bound
        print(f"Sync benchmark: {n:,} assignments, {args.latency_ms} ms added ACS latency")
        print(
            f"  concurrency {concurrency}, merge-patch batches of {batch}, cloudsim rate limits on"
        )
        print(f"  first ACS client   {full['first_client_s']:8.2f} s   (once per worker process,"
              " not timed)")  # fmt: skip
        print(f"Full sync (all creates), median of {len(timed)}:")
        print(f"  wall time          {full_s:8.2f} s   status {full['run'].status},"
              f" created {full['run'].created}")  # fmt: skip
        runs = ", ".join(f"{t['seconds']:.2f}" for t in timed)
        print(f"  all runs           {runs} s")
        print(f"  requests sent      {full['stats']['services'].get('acs', 0):8d}")
        print(f"  by route           {full['stats']['routes']}")
        print(f"  latency bound      {bound:8.2f} s   ({pages_before} list page + {batches} batches"
              f" / {concurrency} in flight) x {args.latency_ms} ms")  # fmt: skip
        print(f"  wall / bound       {ratio:8.2f} x  (target <= {BOUND_TARGET})")
        print(f"  peak RSS           {full['peak_rss_kb'] / mb:8.1f} MB (worker process;"
              f" {full['rss_before_kb'] / mb:.1f} MB before the sync)")  # fmt: skip
        peaks = ", ".join(f"{t['peak_rss_kb'] / mb:.1f}" for t in timed)
        print(f"  peak RSS, all runs {peaks} MB")
        print(f"  CPU time           {full['cpu_s']:8.2f} s sync worker,"
              f" {full['cloudsim_cpu_s']:.2f} s cloudsim ({os.cpu_count()} cores,"
              f" load average {os.getloadavg()[0]:.1f})")  # fmt: skip
        apply_bound = math.ceil(batches / concurrency) * latency
        print(f"  phases             {full['phases']}")
        sending = full["phases"].get("apply", 0)
        print(f"  sending phase      {sending:8.2f} s   vs its bound {apply_bound:.2f} s:"
              f" {sending / apply_bound:.2f} x")  # fmt: skip
        print(f"  same sync, 0 ms    {floor['seconds']:8.2f} s   (no added latency: emulator +"
              f" bookkeeping; peak RSS {floor['peak_rss_kb'] / mb:.1f} MB)")  # fmt: skip
        print(f"  its phases         {floor['phases']}")
        print("Sequential baseline (one PUT per assignment, concurrency 1):")
        print(f"  measured           {sample_s:8.2f} s for {sample} PUTs"
              f" ({sample_s / sample * 1000:.1f} ms each)")  # fmt: skip
        print(f"  extrapolated       {baseline_s:8.2f} s for {n:,} (sample x {n / sample:.0f})")
        print(f"  speed-up           {baseline_s / full_s:8.1f} x  (target >= 20)")
        print("Second sync (nothing changed):")
        print(
            f"  wall time          {again['seconds']:8.2f} s   unchanged {again['run'].unchanged}"
        )
        print(f"  peak RSS           {again['peak_rss_kb'] / mb:8.1f} MB")
        print(f"  phases             {again['phases']}")
        print(f"  requests sent      {again['stats']['services'].get('acs', 0):8d}")
        print(f"  by route           {again['stats']['routes']}")
        print(f"  writes sent        {writes(again['stats']):8d}     (must be 0)")
        sys.stdout.flush()
        return {
            "n": n,
            "ratio": ratio,
            "full_rss_kb": full["peak_rss_kb"],
            "again_rss_kb": again["peak_rss_kb"],
            "ok": writes(again["stats"]) == 0 and full["run"].failed == 0 and ratio <= BOUND_TARGET,
        }


if __name__ == "__main__":
    raise SystemExit(main())
