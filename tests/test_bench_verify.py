"""bench/verify.py keeps working: a run with 20 tenants on real workers (PostgreSQL, a private
Redis) prints figures that hold what the full run is for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis import RedisServer

BASE = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def test_the_verify_benchmark_runs_a_small_sweep_twice(tmp_path):
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("bench/verify.py runs on PostgreSQL (DATABASE_URL)")
    redis = RedisServer(tmp_path / "redis").start()  # the benchmark flushes its Redis
    try:
        out = tmp_path / "figures.json"
        run = subprocess.run(
            [sys.executable, "bench/verify.py", "--tenants", "20", "--workers", "2",
             "--clicks", "1", "--latency-ms", "20", "--json", str(out)],
            cwd=BASE, env={**os.environ, "REDIS_URL": redis.url}, capture_output=True,
            text=True, timeout=240,
        )  # fmt: skip
    finally:
        redis.stop()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "bound N x calls x latency / W" in run.stdout
    (figures,) = json.loads(out.read_text())["runs"]
    first, second = figures["first"], figures["second"]
    for sweep in (first, second):
        assert sweep["finished"] and sweep["queued"] == sweep["done"] == 20
        assert sweep["again"] == 0  # beat mid-sweep queued nothing
        assert 0 < sweep["max_depth"] <= 20
        assert all(c is not None and c < 5 for c in sweep["clicks"])
        assert not sweep["failed"], sweep["failed"]
    assert first["tokens"] >= 20  # one per tenant the first time
    assert second["tokens"] < first["tokens"] / 4  # shared by the 2 processes (else about 1/2)
