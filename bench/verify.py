"""Benchmark: the periodic consent check of N tenants on real Celery workers, Graph 100 ms away.

cloudsim (its own process) serves N generated tenants that have all consented (scenario
``consented-N``, cloudsim/scenarios/generated.py) with ``--latency-ms`` added to every login and
Graph request. The portal's database (PostgreSQL: a database of its own is created from
DATABASE_URL, ``<name>_bench_verify``, dropped and created again) holds the same N tenants.
For each worker count in ``--workers`` (default 1, 2, 4) a periodic worker is started as
docker-compose.yml starts ``worker-periodic`` (``--queues periodic``, ``--concurrency`` W) next
to one ``worker-interactive`` process, on the Redis broker of REDIS_URL (its database is
FLUSHED: give the benchmark one of its own). Then, per worker count:

1. the beat job (``verify_all_tenants``) queues N checks; the sweep's wall time is the time
   until the N-th check is recorded; Graph calls and token requests per tenant come from
   cloudsim's counters. Printed with the bound N x calls x latency / W and the ratio;
2. while the sweep's checks wait, "Verify now" is clicked (the tenant page's POST, through the
   portal's view) a few times; its latency is click -> check recorded (target < 5 s);
3. the periodic queue's depth is sampled every 0.5 s: its maximum (at most N: nothing queued
   twice) and the depth when beat fires again mid-sweep (it must queue nothing);
4. a second sweep on the same workers: token requests must drop (msal's cache per tenant).

A sweep that would outlast ``--time-box`` seconds is stopped there: the remaining checks are
purged and its wall time is EXTRAPOLATED from the rate so far (printed as such).

Usage: .venv/bin/python bench/verify.py [--tenants 10000] [--workers 1,2,4] [--latency-ms 100]
       [--time-box 300] [--quick]
``--quick``: 200 tenants, workers 1 and 2 (a smoke run of about two minutes). It prints
figures; it is not a test (tests/test_bench_verify.py runs it with 20 tenants).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "bench"))

from sync import CloudSimProcess  # noqa: E402  (bench/sync.py: cloudsim as its own process)


def fresh_database(url: str) -> str:
    """``<name>_bench_verify`` on the server of ``url``, dropped and created empty."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'portal'}_bench_verify"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def compose_worker_command(service: str) -> list[str]:
    """The worker's command as docker-compose.yml gives it (so the two cannot drift)."""
    import yaml

    compose = yaml.safe_load((BASE / "docker-compose.yml").read_text())
    return list(compose["services"][service]["command"])


def with_option(command: list[str], option: str, value: str) -> list[str]:
    out = list(command)
    if option in out:
        out[out.index(option) + 1] = value
    else:
        out += [option, value]
    return out


class Worker:
    def __init__(self, service: str, concurrency: int, env: dict[str, str], log: Path) -> None:
        command = compose_worker_command(service)
        command = with_option(command, "--concurrency", str(concurrency))
        command = with_option(command, "--loglevel", "WARNING")
        command = with_option(command, "--hostname", f"{service}-{time.monotonic_ns()}@%h")
        assert command[0] == "celery"
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=BASE, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self.log.close()


def token_requests(stats: dict) -> int:
    return sum(
        n
        for route, n in stats["routes"].items()
        if route.startswith("login POST") and route.endswith("/token")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4", help="periodic worker processes, per run")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--time-box", type=float, default=300.0, help="seconds per sweep at most")
    parser.add_argument("--clicks", type=int, default=3, help='"Verify now" clicks per sweep')
    parser.add_argument("--quick", action="store_true", help="200 tenants, workers 1,2")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.tenants, args.workers = min(args.tenants, 200), "1,2"
    workers = [int(w) for w in args.workers.split(",")]
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (a Redis db of its own).")
    n, latency = args.tenants, args.latency_ms / 1000
    tmp = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    started = time.perf_counter()
    cs = CloudSimProcess(
        tmp / "cloudsim",
        f"--scenario=consented-{n}",
        f"--fault=login:latency:1:{args.latency_ms}",
        f"--fault=graph:latency:1:{args.latency_ms}",
    )
    print(f"cloudsim: {n} consented tenants generated in {time.perf_counter() - started:.1f} s")
    env = {
        **os.environ,
        **cs.portal_env(),
        "CLOUDSIM_MODE": "True",
        "DATABASE_URL": fresh_database(database_url),
        "PORTAL_VAR_DIR": str(tmp / "var"),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from cloudsim.scenarios import generated
    from portal import queues
    from portal.celery import app
    from portal.models import Role, User
    from tenants.models import CheckTrigger, ConsentCheck, CustomerTenant, TenantStatus
    from tenants.tasks import verify_all_tenants

    call_command("migrate", verbosity=0)
    broker = redis.Redis.from_url(redis_url)
    CustomerTenant.objects.bulk_create(
        (
            CustomerTenant(
                tenant_id=generated.tenant_id(i),
                display_name=f"Scale Tenant {i:05d}",
                primary_domain=generated.domain(i),
                status=TenantStatus.VERIFIED,
            )
            for i in range(1, n + 1)
        ),
        batch_size=5000,
    )
    operator = User.objects.create_user(
        email="bench@contoso.example", password="bench-password-not-secret-1", role=Role.OPERATOR
    )
    click_client = Client(HTTP_HOST=urlsplit(settings.PORTAL_BASE_URL).netloc)
    click_client.force_login(operator)
    pks = list(CustomerTenant.objects.order_by("pk").values_list("pk", flat=True))
    print(f"portal: {n} tenants in {settings.DATABASES['default']['NAME']}")

    def depth() -> int:
        return int(broker.llen(queues.PERIODIC))

    def reset_sweep() -> None:
        CustomerTenant.objects.update(last_verified_at=None)
        for key in broker.scan_iter(match="*sweep:*", count=5000):
            broker.delete(key)

    def wait_for(condition, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def click(pk: int) -> float | None:
        """ "Verify now" on the tenant page: seconds until its check is recorded."""
        before = ConsentCheck.objects.filter(tenant_id=pk, trigger=CheckTrigger.MANUAL).count()
        at = time.perf_counter()
        response = click_client.post(reverse("tenants:verify", args=[pk]))
        assert response.status_code == 302, response.status_code
        done = wait_for(
            lambda: (
                ConsentCheck.objects.filter(tenant_id=pk, trigger=CheckTrigger.MANUAL).count()
                > before
            ),
            60,
        )
        return time.perf_counter() - at if done else None

    def sweep(label: str, concurrency: int, upto: int | None = None) -> dict:
        """One sweep; ``upto``: stop once that many checks are recorded (the second sweep stops
        where a time-boxed first one did, so both cover the same tenants: they run in pk order)."""
        reset_sweep()
        ConsentCheck.objects.all().delete()
        cs.admin("POST", "/stats/reset")
        samples: list[tuple[float, int]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.perf_counter(), depth()))
                stop.wait(0.5)

        t0 = time.perf_counter()
        queued = verify_all_tenants()
        queue_s = time.perf_counter() - t0
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        waiting_at_click = depth()
        clicks = [click(pks[(i * 7919) % len(pks)]) for i in range(args.clicks)]
        again = verify_all_tenants()  # beat fires again mid-sweep
        periodic = ConsentCheck.objects.filter(trigger=CheckTrigger.PERIODIC)
        goal = queued if upto is None else min(queued, upto)
        finished = wait_for(lambda: periodic.count() >= goal, args.time_box) and goal == queued
        wall = time.perf_counter() - t0
        done = periodic.count()
        if not finished:
            broker.delete(queues.PERIODIC)  # the rest of the sweep: stop it here
            done = -1
            while done != periodic.count():  # the checks the workers had taken finish
                done = periodic.count()
                time.sleep(3)
            wall = time.perf_counter() - t0 - 3  # when the last of them was recorded, at most
        stop.set()
        sampler.join()
        stats = cs.admin("GET", "/stats")
        graph_calls = stats["services"].get("graph", 0)
        manual = len([c for c in clicks if c is not None])
        checks = done + manual
        return {
            "label": label,
            "queued": queued,
            "queue_s": queue_s,
            "again": again,
            "done": done,
            "finished": finished,
            "wall": wall if finished else wall * queued / max(done, 1),
            "graph_per_tenant": graph_calls / max(checks, 1),
            "calls_per_tenant": (graph_calls + stats["services"].get("login", 0)) / max(checks, 1),
            "tokens": token_requests(stats),
            "tokens_per_tenant": token_requests(stats) / max(checks, 1),
            "login_calls": stats["services"].get("login", 0),
            "clicks": clicks,
            "waiting_at_click": waiting_at_click,
            "max_depth": max((d for _, d in samples), default=0),
            "depth_series": samples,
            "failed": list(periodic.filter(ok=False).values_list("findings", flat=True)[:1]),
        }

    results = []
    log_dir = tmp / "logs"
    log_dir.mkdir()
    try:
        for concurrency in workers:
            broker.flushdb()  # no queue, mark or shared token left by the previous worker count
            periodic = Worker("worker-periodic", concurrency, env, log_dir / f"p{concurrency}.log")
            interactive = Worker("worker-interactive", 1, env, log_dir / f"i{concurrency}.log")
            try:
                from portal.tasks import ping

                ping.delay("ready").get(timeout=120)  # the interactive worker is up
                ping.apply_async(("ready",), queue=queues.PERIODIC).get(timeout=120)
                cold = click(pks[0])  # the interactive worker's first task ever (imports)
                print(f'\n  "Verify now" on a worker that just started: {cold:.2f} s (cold)')
                first = sweep("first", concurrency)
                second = sweep(
                    "second", concurrency, upto=None if first["finished"] else first["done"]
                )
            finally:
                periodic.stop()
                interactive.stop()
            results.append((concurrency, first, second))
            report(n, latency, concurrency, first, second)
    finally:
        cs.stop()
        app.close()
    summary(n, latency, results)
    if args.json:
        figures = [
            {
                "workers": w,
                **{k: {**r, "depth_series": None} for k, r in (("first", f), ("second", s))},
            }
            for w, f, s in results
        ]
        Path(args.json).write_text(json.dumps({"tenants": n, "runs": figures}, default=str))
    print(f"(logs and state in {tmp})")
    return 0


def report(n: int, latency: float, concurrency: int, first: dict, second: dict) -> None:
    print(f"\n== {concurrency} periodic worker process(es), {n} tenants, {latency * 1000:.0f} ms")
    for run in (first, second):
        bound = n * run["calls_per_tenant"] * latency / concurrency
        how = "measured" if run["finished"] else f"EXTRAPOLATED from {run['done']} checks"
        clicks = [f"{c:.2f}" if c is not None else "lost" for c in run["clicks"]]
        print(
            f"  {run['label']:6} sweep: {run['wall']:8.1f} s wall ({how}); queued {run['queued']}"
            f" in {run['queue_s']:.2f} s; beat again mid-sweep queued {run['again']}"
        )
        print(
            f"         calls/tenant {run['calls_per_tenant']:.2f}"
            f" (Graph {run['graph_per_tenant']:.2f}, the rest login);"
            f" bound N x calls x latency / W = {bound:.1f} s;"
            f" ratio {run['wall'] / bound if bound else float('nan'):.2f}"
        )
        print(
            f"         token requests {run['tokens']} ({run['tokens_per_tenant']:.2f}/tenant),"
            f" login calls {run['login_calls']}"
        )
        print(
            f'         "Verify now" with {run["waiting_at_click"]} checks queued: '
            f"{', '.join(clicks)} s (target < 5 s)"
        )
        print(f"         queue depth max {run['max_depth']} (N = {n})")
        if run["failed"]:
            print(f"         a failed check: {json.dumps(run['failed'][0])[:300]}")


def summary(n: int, latency: float, results: list) -> None:
    print("\n== summary")
    print("  W  sweep_s  bound_s  ratio  graph/tenant  tokens 1st->2nd  verify-now max_s  depth")
    for concurrency, first, second in results:
        bound = n * first["calls_per_tenant"] * latency / concurrency
        clicks = [c for c in first["clicks"] + second["clicks"] if c is not None]
        lost = len(first["clicks"] + second["clicks"]) - len(clicks)
        print(
            f"  {concurrency}  {first['wall']:7.1f}{'*' if not first['finished'] else ' '}"
            f" {bound:7.1f}  {first['wall'] / bound if bound else 0:5.2f}"
            f"  {first['graph_per_tenant']:12.2f}  {first['tokens']:6} -> {second['tokens']:<6}"
            f"  {max(clicks, default=float('nan')):8.2f}{f' ({lost} lost)' if lost else ''}"
            f"  {max(first['max_depth'], second['max_depth'])}"
        )
    if any(not first["finished"] for _, first, _ in results):
        print("  * extrapolated from the checks done within --time-box (rate x N)")
    median = statistics.median(c for _, f, s in results for c in f["clicks"] + s["clicks"] if c)
    print(f'  "Verify now" median {median:.2f} s')


if __name__ == "__main__":
    sys.exit(main())
