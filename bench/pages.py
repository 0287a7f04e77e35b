"""Benchmark: the read pages over 10,000 tenants and 1,000,000 audit events on PostgreSQL.

Prints, per page: SQL queries per request (they must not grow with rows) and the median
server time over 20 requests (Django's test Client in this process, so network and browser
time are excluded), then the peak memory (tracemalloc) of a CSV export of every event.

Usage: DATABASE_URL=postgres://user@host:5432/anything .venv/bin/python bench/pages.py
       [--events 1000000] [--tenants 10000] [--requests 20] [--reseed] [--skip-full-export]
It works in its own database, ``portal_bench`` on the same server (created and migrated here,
seeded once and reused; ``--reseed`` drops it first). It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))
BENCH_DB = "portal_bench"
TARGET_MS = 100


def database_url(url: str, name: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench/pages.py needs DATABASE_URL pointing at PostgreSQL.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(url: str, *, drop: bool) -> None:
    import psycopg

    # The maintenance database: the one in DATABASE_URL need not exist.
    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        if drop:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("PORTAL_VAR_DIR", "/tmp/portal-bench-var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_DEBUG"] = "False"
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    call_command("migrate", verbosity=0)


def seed(tenants: int, events: int) -> None:
    """Tenants through bulk_create; events generated inside PostgreSQL (INSERT … SELECT)."""
    import uuid

    from django.db import connection

    from audit.actions import Action
    from tenants.models import CustomerTenant, TenantStatus

    have_tenants = CustomerTenant.objects.count()
    if have_tenants < tenants:
        statuses = TenantStatus.values
        started = time.perf_counter()
        rows = [
            CustomerTenant(
                tenant_id=uuid.UUID(int=n + 1),
                display_name="Fabrikam" if n == 4242 else f"Tenant {n:05d}",
                primary_domain="fabrikam.example" if n == 4242 else f"t{n:05d}.example",
                status=statuses[n % len(statuses)],
            )
            for n in range(have_tenants, tenants)
        ]
        CustomerTenant.objects.bulk_create(rows, batch_size=2000)
        print(f"seeded {len(rows):,} tenants in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        have_events = cursor.fetchone()[0]
        if have_events >= events:
            print(f"reusing {have_events:,} events and {tenants:,} tenants in {BENCH_DB}")
            return
        cursor.execute("SELECT min(id), max(id) FROM tenants_customertenant")
        first, last = cursor.fetchone()
        started = time.perf_counter()
        # Every third event shares its timestamp with its neighbours (keyset ties); about
        # 35 s apart, so a million events span ~13 months; tenants and actions rotate.
        cursor.execute(
            """
            INSERT INTO audit_auditevent (at, actor_type, actor_id, actor_label, action,
                target_type, target_id, target_label, tenant_id, tenant_label, details, ip,
                request_id)
            SELECT timestamptz '2026-11-22 00:00+00' - ((g / 3) * interval '105 seconds'),
                CASE WHEN g %% 5 = 0 THEN 'system' ELSE 'operator' END,
                NULL,
                CASE WHEN g %% 5 = 0 THEN 'system'
                     ELSE 'operator' || (g %% 20) || '@contoso.example' END,
                (%(actions)s::text[])[1 + g %% %(n_actions)s],
                'customertenant', t.id::text, t.display_name, t.id, t.display_name,
                jsonb_build_object('n', g, 'status', 'ok', 'findings',
                    jsonb_build_array(jsonb_build_object('check', 'acs_clients_sp', 'ok', true))),
                '10.0.0.1'::inet, md5(g::text)
            FROM generate_series(%(start)s, %(stop)s) AS g
            JOIN tenants_customertenant t ON t.id = %(first)s + (g %% (%(last)s - %(first)s + 1))
            """,
            {
                "actions": list(Action.values),
                "n_actions": len(Action.values),
                "start": have_events,
                "stop": events - 1,
                "first": first,
                "last": last,
            },
        )
        cursor.execute("ANALYZE audit_auditevent")
        cursor.execute("ANALYZE tenants_customertenant")
    print(f"seeded {events - have_events:,} events in {time.perf_counter() - started:.1f} s")


def measure(client, url: str, requests: int) -> tuple[list[int], float, int]:
    """Query counts per request, median milliseconds, and response size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts, times, size = [], [], 0
    for _ in range(requests):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        counts.append(len(queries))
        size = len(body)
    return counts, statistics.median(times), size


def deep_cursor(offset: int) -> str:
    from audit.models import AuditEvent
    from audit.selectors import Cursor

    at, pk = AuditEvent.objects.order_by("-at", "-id").values_list("at", "id")[offset]
    return Cursor("next", at, pk).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--skip-full-export", action="store_true")
    args = parser.parse_args()
    source = os.environ.get("DATABASE_URL", "")
    if not source:
        sys.exit("Set DATABASE_URL to a PostgreSQL server (bench/pages.py uses portal_bench).")
    url = database_url(source, BENCH_DB)
    create_database(source, drop=args.reseed)
    setup_django(url)
    seed(args.tenants, args.events)

    from django.db.models import Q
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from audit.models import AuditEvent
    from portal.models import Role, User
    from tenants.models import CustomerTenant

    auditor, _ = User.objects.get_or_create(
        email="bench-auditor@contoso.example", defaults={"role": Role.AUDITOR}
    )
    client = Client()
    client.force_login(auditor)
    fabrikam = CustomerTenant.objects.get(display_name="Fabrikam")
    total = AuditEvent.objects.count()
    pages: list[tuple[str, str | None]] = []

    def page(label: str, name: str, *args, query: str = "") -> None:
        try:
            pages.append((label, reverse(name, args=args) + query))
        except NoReverseMatch:
            pages.append((label, None))

    page("tenant list", "tenants:list")
    page("tenant list, search", "tenants:list", query="?q=Tenant%200042")
    page("tenant detail (Fabrikam)", "tenants:detail", fabrikam.pk)
    page("audit log, first page", "audit:log")
    page(
        f"audit log, deep page (~{int(total * 0.9):,} in)",
        "audit:log",
        query=f"?cursor={deep_cursor(int(total * 0.9))}",
    )
    page("audit log, tenant + action", "audit:log", query="?tenant=Fabrikam&action=consent.")
    page(
        "audit log, action + 30 days",
        "audit:log",
        query="?action=sync.finished&since=2026-10-01T00:00",
    )
    page("audit log, label search 'fabrik'", "audit:log", query="?q=fabrik")
    # Worst case for the trigram index: every seeded label shares the trigrams of "Tenant 0".
    page("audit log, label search 'Tenant 00042'", "audit:log", query="?q=Tenant%2000042")
    page("audit event", "audit:event", AuditEvent.objects.order_by("-id").values("id")[0]["id"])
    page("onboarding report (Fabrikam)", "audit:tenant_report", fabrikam.pk)
    page("dashboard", "dashboard")
    page("CSV export, one tenant", "audit:export_csv", query="?tenant=Fabrikam")

    print(
        f"\n{total:,} audit events, {CustomerTenant.objects.count():,} tenants, "
        f"{args.requests} requests per page (median server time, in-process client)\n"
    )
    print(f"{'page':44} {'queries':>9} {'median ms':>10} {'bytes':>10}  target")
    for label, target_url in pages:
        if target_url is None:
            print(f"{label:44} {'-':>9} {'-':>10} {'-':>10}  skipped: URL not built yet")
            continue
        counts, median, size = measure(client, target_url, args.requests)
        queries = str(counts[0]) if len(set(counts)) == 1 else f"{min(counts)}-{max(counts)}"
        verdict = "ok" if median < TARGET_MS else f"OVER {TARGET_MS} ms"
        print(f"{label:44} {queries:>9} {median:>10.1f} {size:>10,}  {verdict}")

    fabrikam_events = AuditEvent.objects.filter(Q(tenant_id=fabrikam.pk)).count()
    print(f"\n(Fabrikam has {fabrikam_events} events.)")
    if args.skip_full_export:
        return
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"\nCSV export of all {total:,} events, streamed once under tracemalloc:")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(reverse("audit:export_csv"))
        tracemalloc.start()
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        elapsed = time.perf_counter() - started
    print(
        f"  rows {lines - 1:,}, {size / 2**20:.0f} MiB of CSV in {elapsed:.1f} s "
        f"(traced, so slower than untraced), {len(queries)} queries "
        f"(1 audit insert + 1 per batch of 2,000 rows), peak traced memory "
        f"{peak / 2**20:.1f} MiB"
    )


if __name__ == "__main__":
    main()
