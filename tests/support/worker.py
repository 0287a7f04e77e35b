"""Start a real Celery worker process against the test database and broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)


def test_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve().as_posix()}"
    auth = s["USER"] or ""
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    running: set[WorkerProcess] = set()  # started and not stopped (fault tests pause them)

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 2):
        self.env, self.log_path, self.concurrency = env, log_path, concurrency
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "portal", "worker",
                "--loglevel", "INFO", "--concurrency", str(self.concurrency),
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        WorkerProcess.running.add(self)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        from portal.tasks import ping

        result = ping.delay("ready")
        try:
            result.get(timeout=timeout)
        except Exception as exc:
            raise RuntimeError(f"Celery worker not ready: {exc}\n{self.log_tail()}") from exc

    def kill(self, sig: int = 9) -> None:
        WorkerProcess.running.discard(self)
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        WorkerProcess.running.discard(self)
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
