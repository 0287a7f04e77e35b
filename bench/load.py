"""Load benchmark: gunicorn as compose runs it, 50 signed-in operators and a few customer admins.

``docker-compose.yml``'s ``web`` command and environment are read and translated the way the
production stack test does (tests/integration/test_production_stack.py, whose ``Stack`` this
reuses), so the server under load is the one compose starts: DJANGO_ENV=production, gunicorn's
config and worker count, PostgreSQL. The data is bench/pages.py's (10,000 tenants, 1,000,000
events in ``portal_bench``, seeded once and reused).

Each of ``--sessions`` signed-in operators loops over the tenant list, a tenant page, the audit
log (first, deep and filtered pages) and the dashboard; ``--admins`` customer admins open consent
landing pages. A session is a person browsing: after each page it reads for a think time drawn
uniformly from ``--think`` seconds (default 1-3, as load tools model users: Locust's
``between(1, 3)``), with the sessions starting spread over the first think time. Bounded:
``--seconds`` of load and at most ``--max-requests`` requests, loopback only. Prints throughput,
p50/p95/p99 per page and errors; target p95 < 200 ms, 0 errors.

Then, unless ``--saturate-seconds 0``, the same sessions without any think time for a shorter
phase: what the server can give at most (requests/s, CPU per request). Both follow a
``--warmup-seconds`` burst (default 5) that is not counted: each gunicorn worker compiles its
templates and fills its caches on its first requests. No server meets the p95
target in that phase on 2 cores: the load generator alone takes about 4 ms of CPU per request on
the same cores, and 55 sessions that never pause queue behind each other (Little's law).

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/x REDIS_URL=redis://127.0.0.1:6379/7 \\
       .venv/bin/python bench/load.py [--sessions 50] [--admins 5] [--seconds 60] [--think 1-3]
       [--saturate-seconds 20] [--warmup-seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
sys.path.insert(0, str(BASE / "bench"))

import pages as seeding  # noqa: E402  (bench/pages.py: the database and its seed)

TARGET_P95_MS = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sessions_for(n: int) -> list[str]:
    """Session keys of ``n`` signed-in operators (database sessions, as the portal keeps them)."""
    from django.test import Client

    from portal.models import Role, User

    keys = []
    for i in range(n):
        user, _ = User.objects.get_or_create(
            email=f"bench-operator-{i}@contoso.example", defaults={"role": Role.OPERATOR}
        )
        client = Client()
        client.force_login(user)
        keys.append(client.cookies["sessionid"].value)
    return keys


def landing_tokens(n: int) -> list[str]:
    from audit.services import Actor
    from tenants.actions import consent
    from tenants.models import CustomerTenant

    actor = Actor.system("bench")
    tenants = CustomerTenant.objects.order_by("pk")[:n]
    return [consent.issue_consent_link(actor=actor, tenant=t).token for t in tenants]


def page_paths() -> dict[str, str]:
    from django.urls import reverse

    from audit.models import AuditEvent
    from tenants.models import CustomerTenant

    fabrikam = CustomerTenant.objects.get(display_name="Fabrikam")
    total = AuditEvent.objects.count()
    return {
        "tenant list": reverse("tenants:list"),
        "tenant page": reverse("tenants:detail", args=[fabrikam.pk]),
        "audit log, first": reverse("audit:log"),
        "audit log, deep": reverse("audit:log") + f"?cursor={seeding.deep_cursor(total * 9 // 10)}",
        "audit log, filtered": reverse("audit:log") + "?tenant=Fabrikam&action=consent.",
        "dashboard": reverse("dashboard"),
    }


async def load(
    base: str,
    operator_sessions: list[str],
    tokens: list[str],
    paths: dict[str, str],
    seconds: float,
    max_requests: int,
    think: tuple[float, float] = (0.0, 0.0),
) -> tuple[dict[str, list[float]], dict[str, int], float]:
    import httpx

    timings: dict[str, list[float]] = {label: [] for label in [*paths, "consent landing"]}
    errors: dict[str, int] = {}
    sent = 0
    stop_at = time.monotonic() + seconds
    headers = {"X-Forwarded-Proto": "https"}  # behind the TLS-terminating proxy

    async def user(n: int, session: str | None, route: list[tuple[str, str]]) -> None:
        nonlocal sent
        pause = random.Random(n)  # the same think times on every run
        cookies = {"sessionid": session} if session else {}
        async with httpx.AsyncClient(
            base_url=base, headers=headers, cookies=cookies, timeout=30, follow_redirects=False
        ) as http:
            if think[1]:
                await asyncio.sleep(pause.uniform(0, think[1]))  # people do not start together
            i = 0
            while time.monotonic() < stop_at and sent < max_requests:
                label, path = route[i % len(route)]
                i += 1
                sent += 1
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                    ok = response.status_code == 200
                    key = f"{label}: HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, key = False, f"{label}: {type(exc).__name__}"
                timings[label].append((time.perf_counter() - started) * 1000)
                if not ok:
                    errors[key] = errors.get(key, 0) + 1
                if think[1]:
                    await asyncio.sleep(pause.uniform(*think))

    route = list(paths.items())
    landing = [("consent landing", f"/consent/{token}/") for token in tokens]
    started = time.monotonic()
    await asyncio.gather(
        *(
            user(n, s, route[n % len(route) :] + route[: n % len(route)])
            for n, s in enumerate(operator_sessions)
        ),
        *(
            user(len(operator_sessions) + n, None, landing[n:] + landing[:n])
            for n in range(len(tokens))
        ),
    )
    return timings, errors, time.monotonic() - started


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process ``root`` and its descendants."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(pid, 0.0) for pid in tree)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--admins", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--think", default="1-3", help="seconds, uniform: LOW-HIGH (0: none)")
    parser.add_argument("--saturate-seconds", type=float, default=20)
    parser.add_argument("--warmup-seconds", type=float, default=5)
    args = parser.parse_args()
    low, _, high = args.think.partition("-")
    think = (float(low), float(high or low))
    source = os.environ.get("DATABASE_URL", "")
    if not source or not os.environ.get("REDIS_URL"):
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: compose's stack runs on both.")
    url = seeding.database_url(source, seeding.BENCH_DB)
    secret = secrets.token_urlsafe(48)
    os.environ["DJANGO_SECRET_KEY"] = secret  # the server checks the sessions made here
    seeding.create_database(source, drop=False)
    seeding.setup_django(url)
    seeding.seed(args.tenants, args.events)
    sessions = sessions_for(args.sessions)
    tokens = landing_tokens(args.admins)
    paths = page_paths()

    from django.db import connections

    from tests.integration.test_production_stack import Stack, dockerfile_lines

    connections.close_all()
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="portal-load-"))
    stack = Stack(tmp, {}, seeding.BENCH_DB, port)
    redis_url = os.environ["REDIS_URL"]
    stack.dotenv |= {
        "DJANGO_SECRET_KEY": secret,
        "CONSENT_RATE_LIMIT": "1000000",  # one loopback address plays every customer admin
        "LOG_LEVEL": "WARNING",
    }
    web_env = stack.env

    def env(service: str) -> dict[str, str]:
        # The bench database belongs to the superuser bench/pages.py connects as, not portal_app.
        return web_env(service) | {"DATABASE_URL": url, "REDIS_URL": redis_url}

    stack.env = env  # type: ignore[method-assign]
    # The image's build step (Dockerfile: collectstatic): production serves hashed static names.
    dockerfile = "\n".join(dockerfile_lines()).replace("\\\n", " ")
    build = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
    subprocess.run(
        ["sh", "-c", build.removeprefix("RUN ").split("&&")[0]], cwd=BASE, check=True,
        env={"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True,
    )  # fmt: skip
    stack.start("web")
    base = f"http://127.0.0.1:{port}"
    phases = [(f"browsing, think time {args.think} s", args.seconds, think, True)]
    if args.saturate_seconds:
        phases.append(("saturation, no think time", args.saturate_seconds, (0.0, 0.0), False))
    verdicts = []
    try:
        stack.wait_healthy("web", timeout=60)
        command = " ".join(stack.compose["services"]["web"]["command"])
        print(f"\nweb: {command}\n{args.sessions} operators, {len(tokens)} customer admins, "
              f"PostgreSQL {seeding.BENCH_DB}")  # fmt: skip
        web_pid = stack.procs["web"].pid
        if args.warmup_seconds:
            # Each worker compiles its templates and fills its caches on its first requests.
            warm, _, _ = asyncio.run(
                load(base, sessions, tokens, paths, args.warmup_seconds, args.max_requests)
            )
            print(f"warm-up: {sum(len(v) for v in warm.values())} requests in "
                  f"{args.warmup_seconds:.0f} s, not counted")  # fmt: skip
        for title, seconds, pauses, judged in phases:
            cpu_before, own_before, load_before = (
                tree_cpu(web_pid),
                time.process_time(),
                os.getloadavg(),
            )
            timings, errors, elapsed = asyncio.run(
                load(base, sessions, tokens, paths, seconds, args.max_requests, pauses)
            )
            web_cpu, own_cpu = tree_cpu(web_pid) - cpu_before, time.process_time() - own_before
            print(f"\n== {title}, {seconds:.0f} s")
            met = report(
                timings, errors, elapsed, web_cpu, own_cpu, load_before, os.getloadavg(), judged
            )
            if judged:
                verdicts.append(met)
    finally:
        codes = stack.stop()
    print(f"\ngunicorn exit code after SIGTERM: {codes.get('web')}")
    if verdicts:
        print(f"target (p95 < {TARGET_P95_MS} ms on every page, 0 errors): "
              f"{'met' if all(verdicts) else 'MISSED'}")  # fmt: skip


def report(
    timings: dict[str, list[float]],
    errors: dict[str, int],
    elapsed: float,
    web_cpu: float,
    own_cpu: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    judged: bool,
) -> bool:
    """Print a phase's figures; whether every page met the p95 target with no errors."""
    total = sum(len(v) for v in timings.values())
    met = not errors
    print(f"{'page':24} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target")
    for label, values in timings.items():
        if not values:
            continue
        p95 = percentile(values, 95)
        met = met and p95 < TARGET_P95_MS
        verdict = "ok" if p95 < TARGET_P95_MS else f"OVER {TARGET_P95_MS} ms"
        print(
            f"{label:24} {len(values):>9} {percentile(values, 50):>8.1f} {p95:>8.1f} "
            f"{percentile(values, 99):>8.1f}  {verdict if judged else '(not judged)'}"
        )
    every = [v for values in timings.values() for v in values]
    print(
        f"{total:,} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s; "
        f"overall p95 {percentile(every, 95):.1f} ms; errors {sum(errors.values())}"
    )
    for key, count in sorted(errors.items()):
        print(f"  {count:>6}  {key}")
    # What the machine gives, whatever else runs on it: CPU per request (gunicorn's processes)
    # and the load generator's own, on the same cores.
    cores = os.cpu_count() or 1
    per_request = web_cpu / max(total, 1) * 1000
    print(
        f"web CPU {web_cpu:.1f} s = {per_request:.1f} ms per request (load generator "
        f"{own_cpu / max(total, 1) * 1000:.1f} ms); load average {load_before[0]:.1f} -> "
        f"{load_after[0]:.1f} on {cores} cores; the web processes alone could serve at most "
        f"{cores * 1000 / max(per_request, 0.001):.0f} requests/s"
    )
    return met


if __name__ == "__main__":
    main()
