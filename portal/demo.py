"""``make run``: cloudsim, migrations, demo operators, then web + Celery worker + beat.

Everything runs on the embedded defaults (SQLite, filesystem broker) unless DATABASE_URL /
REDIS_URL are set. Ctrl-C stops every process.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("PORTAL_VAR_DIR") or BASE_DIR / "var")
CLOUDSIM_DIR = VAR / "cloudsim"
PY = sys.executable


def _read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip()
    return env


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return
        if proc.poll() is not None:
            raise SystemExit(f"cloudsim exited with code {proc.returncode}")
        time.sleep(0.1)
    raise SystemExit(f"cloudsim did not write {path} within {timeout:.0f} s")


def password_reset_command(var_dir: Path, environ: Mapping[str, str], email: str = "EMAIL") -> str:
    """The command that resets a demo operator's password, runnable as printed from any shell.

    It names the interpreter and manage.py by absolute path, and the demo's PORTAL_VAR_DIR when
    it is not the default (there the demo's database lives; without it Django opened another,
    missing one and failed with a traceback).
    """
    parts = []
    if Path(var_dir).resolve() != (BASE_DIR / "var").resolve():
        parts.append(f"PORTAL_VAR_DIR={shlex.quote(str(Path(var_dir).resolve()))}")
    parts += [shlex.quote(PY), shlex.quote(str(BASE_DIR / "manage.py")), "changepassword", email]
    command = " ".join(parts)
    if environ.get("DATABASE_URL"):
        command += "   (with make run's DATABASE_URL set)"
    return command


def demo_environment(environ: Mapping[str, str], host: str, port: str) -> dict[str, str]:
    """The environment of the demo's processes: the caller's, with the demo's defaults."""
    env = dict(environ)
    # Not DEBUG: its error page showed any signed-in user (an auditor too) the settings with
    # DATABASE_URL / REDIS_URL passwords, and its 404 listed every URL to anyone. WhiteNoise
    # serves the static files without it (WHITENOISE_USE_FINDERS outside production).
    env.setdefault("DJANGO_DEBUG", "False")
    env.setdefault("PORTAL_BASE_URL", f"http://{host}:{port}")
    env.setdefault("CLOUDSIM_MODE", "True")
    # The contact the customer admin's dead ends name (README "Running the demo").
    env.setdefault("PORTAL_SUPPORT_EMAIL", "onboarding@contoso.example")
    return env


def main() -> int:
    VAR.mkdir(exist_ok=True)
    host = os.environ.get("PORTAL_HOST", "127.0.0.1")
    port = os.environ.get("PORTAL_PORT", "8000")
    env = demo_environment(os.environ, host, port)
    procs: list[tuple[str, subprocess.Popen]] = []

    def start(name: str, args: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, cwd=BASE_DIR, env=env, start_new_session=True)
        procs.append((name, proc))
        return proc

    def stop_all(*_args) -> None:
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        endpoints = CLOUDSIM_DIR / "endpoints.json"
        endpoints.unlink(missing_ok=True)
        cloudsim = start(
            "cloudsim",
            [
                PY,
                "-m",
                "cloudsim",
                "--port",
                os.environ.get("CLOUDSIM_PORT", "8440"),
                "--data-dir",
                str(CLOUDSIM_DIR),
            ],
        )
        _wait_for(endpoints, cloudsim)
        env.update(
            {
                k: v
                for k, v in _read_env_file(CLOUDSIM_DIR / "portal.env").items()
                if k not in os.environ
            }
        )
        urls = json.loads(endpoints.read_text(encoding="utf-8"))
        manage = [PY, "manage.py"]
        subprocess.run(
            [*manage, "migrate", "--no-input", "-v", "0"], cwd=BASE_DIR, env=env, check=True
        )
        subprocess.run([*manage, "setup_demo"], cwd=BASE_DIR, env=env, check=True)
        start(
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
            ],
        )
        start("beat", [PY, "-m", "celery", "-A", "portal", "beat", "--loglevel", "INFO"])
        start("web", [*manage, "runserver", f"{host}:{port}", "--noreload"])
        print(f"\nPortal:   http://{host}:{port}/   (sign in with a demo operator above)")
        print(f"cloudsim: {urls.get('login_url')} (Entra), {urls.get('graph_url')} (Graph)")
        print("Press Ctrl-C to stop everything.\n", flush=True)
        while True:
            for name, proc in procs:
                if proc.poll() is not None:
                    print(f"{name} exited with code {proc.returncode}; stopping.", flush=True)
                    return proc.returncode or 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
