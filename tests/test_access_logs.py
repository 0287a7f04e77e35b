"""Access logs never show consent link tokens, ``state``, ``code`` or other token values.

The web servers run as the project starts them: gunicorn with the command of compose's ``web``
service, runserver as ``make run`` does; each serves real requests and its log is read back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
TOKEN = "Zq3xLinkTokenAbcdefghijklmnop0123456789"
STATE = "eyJsaW5rIjo0Mn0.SignedStateValue1234"
CODE = "0.AAAAauthCodeFromMicrosoft-xyz"
SECRETS = (TOKEN, STATE, CODE, "SignedStateValue1234", "authCodeFromMicrosoft")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_and_read_log(command: list[str], port: int, tmp_path: Path) -> str:
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "DJANGO_ENV": "development",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    # Migrated, as compose's one-shot migrate leaves it: the consent pages count their rate
    # limit in the database, and a 500 from a missing table logs an unredactable path line.
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE_DIR, env=env, check=True,
    )  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise AssertionError(log_path.read_text()) from None
                    time.sleep(0.2)
            referer = f"{base}/consent/{TOKEN}/?state={STATE}"
            httpx.get(f"{base}/consent/{TOKEN}/", timeout=10)
            httpx.get(
                f"{base}/consent/callback/?admin_consent=True&tenant=x&state={STATE}&code={CODE}",
                headers={"Referer": referer},
                timeout=10,
            )
            time.sleep(0.5)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=20)
    return log_path.read_text()


def _assert_redacted(log: str) -> None:
    lines = [line for line in log.splitlines() if "/consent/" in line]
    assert len(lines) >= 2, log
    for secret in SECRETS:
        assert secret not in log
    assert all("[REDACTED]" in line for line in lines), lines


def test_gunicorn_as_compose_runs_it_redacts_its_access_log(tmp_path):
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
    command = list(compose["services"]["web"]["command"])
    assert command[0] == "gunicorn"
    port = _free_port()
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    bin_dir = Path(sys.executable).parent
    log = _serve_and_read_log([str(bin_dir / "gunicorn"), *command[1:]], port, tmp_path)
    assert '"GET /consent/[REDACTED]/ HTTP/1.1"' in log
    _assert_redacted(log)


def test_the_demo_web_server_redacts_its_request_lines(tmp_path):
    port = _free_port()
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    _assert_redacted(_serve_and_read_log(command, port, tmp_path))
