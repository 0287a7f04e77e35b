"""Production as compose defines it: its processes, health checks and one journey over HTTP.

``docker-compose.yml`` is read (so the test and the file cannot drift) and each portal service is
started as a local process with exactly its command and environment. Only what a container
would provide differs: host names (``postgres``, ``redis``) become 127.0.0.1, the database and
Redis number are this test's own, ``/app/var`` is a temporary folder, the executables are this
virtualenv's, ``.env`` is ``.env.example`` with test secrets and cloudsim as Microsoft, and
``HOSTNAME`` is the machine's (Docker sets the container's). Every health check of the
compose file (and the image's HEALTHCHECK) runs exactly as written and must pass; an operator
signs in, registers Fabrikam, a customer admin consents through cloudsim, the tenant is
verified, an assignment syncs to ACS, the audit log exports; SIGTERM stops every process
cleanly and the access log never shows a consent token, ``state`` or ``code``.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
import yaml
from django.conf import settings

from cloudsim import ids
from tests.support.microsoft import answer_at_microsoft

pytestmark = pytest.mark.integration

BASE_DIR = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
PORTAL_SERVICES = ("web", "worker-interactive", "worker-periodic", "worker-notify", "beat")
OPERATOR, OPERATOR_PASSWORD = "olivia@contoso.example", "Stack-test-password-9271"
STACK_REDIS_DB = int(os.environ.get("PORTAL_STACK_REDIS_DB", "11"))


def dockerfile_lines() -> list[str]:
    return (BASE_DIR / "Dockerfile").read_text().splitlines()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's variable substitution: ``${NAME}``, ``${NAME:?message}``, ``$$``."""

    def one(match: re.Match) -> str:
        name, _, rest = match.group(1).partition(":")
        if name not in variables:
            raise AssertionError(f"compose needs {name}: {rest.lstrip('?')}")
        return variables[name]

    return re.sub(r"\$\{([^}]+)\}", one, value.replace("$$", "\0")).replace("\0", "$")


class Stack:
    """The compose file's portal services as local processes."""

    def __init__(self, tmp: Path, cloudsim_env: dict[str, str], database: str, port: int):
        self.tmp, self.port, self.database = tmp, port, database
        self.compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
        self.variables = {
            "POSTGRES_PASSWORD": "stack-owner-password",
            "POSTGRES_APP_PASSWORD": "stack-app-password",
        }
        dotenv = {}
        for line in (BASE_DIR / ".env.example").read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                dotenv[key.strip()] = value.strip()
        dotenv |= {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{port}",
            "PORTAL_BASE_URL": f"https://127.0.0.1:{port}",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "AUDIT_ARCHIVE_DIR": str(tmp / "var" / "audit-archive"),
            **cloudsim_env,
        }
        self.dotenv = dotenv
        self.secrets_seen: list[str] = []
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    # --- translation of what a container provides -------------------------------------------
    def translate(self, text: str) -> str:
        text = _interpolate(text, self.variables)
        text = text.replace("@postgres:5432/portal", f"@127.0.0.1:5432/{self.database}")
        text = text.replace("redis://redis:6379/0", f"redis://127.0.0.1:6379/{STACK_REDIS_DB}")
        text = text.replace("/app/var", str(self.tmp / "var"))
        return text.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}").replace(
            "0.0.0.0:8000", f"127.0.0.1:{self.port}"
        )

    def argv(self, command: list[str]) -> list[str]:
        argv = [self.translate(part) for part in command]
        if argv[0] == "python":
            argv[0] = sys.executable
        elif (BIN / argv[0]).exists():
            argv[0] = str(BIN / argv[0])
        return argv

    def env(self, service: str) -> dict[str, str]:
        spec = self.compose["services"][service]
        env = {
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "HOME": str(self.tmp),
            "HOSTNAME": socket.gethostname(),
            "PYTHONUNBUFFERED": "1",
            **self.dotenv,
        }
        env |= {key: self.translate(str(value)) for key, value in spec["environment"].items()}
        return env

    # --- processes ----------------------------------------------------------------------------
    def run_once(self, service: str, command: list[str] | None = None) -> str:
        spec = self.compose["services"][service]
        done = subprocess.run(
            self.argv(command or spec["command"]), cwd=BASE_DIR, env=self.env(service),
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, f"{service}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, service: str) -> None:
        log = self.tmp / f"{service}.log"
        self.logs[service] = log
        self.procs[service] = subprocess.Popen(
            self.argv(self.compose["services"][service]["command"]), cwd=BASE_DIR,
            env=self.env(service), stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def health(self, service: str, test: list[str] | None = None) -> subprocess.CompletedProcess:
        test = test or self.compose["services"][service]["healthcheck"]["test"]
        kind, rest = test[0], test[1:]
        if kind == "CMD-SHELL":
            argv = ["sh", "-c", self.translate(rest[0])]
        else:
            assert kind == "CMD", test
            argv = self.argv(rest)
        return subprocess.run(
            argv, cwd=BASE_DIR, env=self.env(service), capture_output=True, text=True, timeout=30
        )

    def wait_healthy(self, service: str, timeout: float, test: list[str] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while True:
            outcome = self.health(service, test)
            if outcome.returncode == 0:
                return
            proc = self.procs.get(service)
            if time.monotonic() > deadline or (proc and proc.poll() is not None):
                raise AssertionError(
                    f"{service} unhealthy: {outcome.stdout}{outcome.stderr}\n{self.log(service)}"
                )
            time.sleep(1)

    def log(self, service: str) -> str:
        path = self.logs.get(service)
        return path.read_text(errors="replace")[-4000:] if path and path.exists() else ""

    def stop(self) -> dict[str, int | None]:
        # As `docker compose stop` does: SIGTERM to each container's main process only.
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes[name] = None
        return codes


class Browser:
    """An operator's or customer admin's browser behind the TLS-terminating proxy: every
    request says ``X-Forwarded-Proto: https``, and cookies are kept by hand (they are Secure)."""

    def __init__(self, base: str):
        self.base, self.cookies = base, SimpleCookie()
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://{urlsplit(self.base).netloc}/",
            "Cookie": "; ".join(f"{k}={m.value}" for k, m in self.cookies.items()),
            **kwargs.pop("headers", {}),
        }
        response = self.http.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            self.cookies.load(header)
        return response

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict | None = None) -> httpx.Response:
        token = self.cookies["csrftoken"].value if "csrftoken" in self.cookies else ""
        return self.request("POST", path, data={"csrfmiddlewaretoken": token, **(data or {})})


def _location(response: httpx.Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[-2000:])
    return urlsplit(response.headers["location"]).path


def _poll(browser: Browser, path: str, done, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = browser.get(path).json()
        if done(body):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


@pytest.fixture
def stack_database():
    """A fresh database for the stack, created as the superuser like the postgres image does,
    with compose's owner role ``portal`` (the image makes POSTGRES_USER a superuser)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the production stack runs on PostgreSQL and Redis (set DATABASE_URL)")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("the production stack runs on PostgreSQL and Redis (set REDIS_URL)")
    name = f"portal_stack_{os.getpid()}"
    admin = psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True)
    admin.execute(
        "DO $$ BEGIN CREATE ROLE portal LOGIN SUPERUSER;"
        " EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}" OWNER portal')
    import redis

    redis.Redis(host="127.0.0.1", db=STACK_REDIS_DB).flushdb()
    yield name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def test_the_compose_stack_serves_a_journey_and_stops_cleanly(
    tmp_path, stack_database, cloudsim_clean
):
    port = _free_port()
    cloudsim_clean.admin(
        "POST",
        "/apps/redirect-uris",
        {"redirectUris": [f"https://127.0.0.1:{port}/consent/callback/"]},
    )
    cloudsim_clean.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/assignments")
    stack = Stack(tmp_path, cloudsim_clean.portal_env(), stack_database, port)
    (tmp_path / "var").mkdir()
    try:
        # The image's build step (Dockerfile: collectstatic), then compose's one-shot migrate.
        # A build has no .env: only the image's PATH.
        dockerfile = "\n".join(dockerfile_lines()).replace("\\\n", " ")
        build = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
        build = build.removeprefix("RUN ").split("&&")[0]
        built = subprocess.run(
            ["sh", "-c", build], cwd=BASE_DIR, env={"PATH": f"{BIN}:{os.environ['PATH']}"},
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr
        stack.run_once("migrate")
        for service in PORTAL_SERVICES:
            stack.start(service)
        # The one-shot command an operator runs in the web container (README).
        stack.run_once(
            "web",
            # An admin: ACS resources are an admin's to add.
            [
                "python",
                "manage.py",
                "create_operator",
                OPERATOR,
                "--role",
                "admin",
                "--password",
                OPERATOR_PASSWORD,
            ],
        )
        for service in PORTAL_SERVICES:
            stack.wait_healthy(service, timeout=60)
        image_check = shlex.split(
            dockerfile.split("HEALTHCHECK", 1)[1].split(" CMD ", 1)[1].splitlines()[0]
        )
        stack.wait_healthy("web", timeout=5, test=["CMD", *image_check])

        _journey(stack, Browser(f"http://127.0.0.1:{port}"), cloudsim_clean)
    finally:
        codes = stack.stop()
    assert codes == dict.fromkeys(PORTAL_SERVICES, 0), {n: stack.log(n) for n in codes}
    access_log = (tmp_path / "web.log").read_text()
    assert "/consent/[REDACTED]/" in access_log
    for secret in stack.secrets_seen:
        assert secret not in access_log
    for service in PORTAL_SERVICES:
        assert "Traceback" not in stack.logs[service].read_text(), stack.log(service)


def _journey(stack: Stack, operator: Browser, cloudsim) -> None:
    # Sign in with the operator the one-shot command created.
    assert operator.get("/accounts/login/").status_code == 200
    signed_in = operator.post(
        "/accounts/login/", {"login": OPERATOR, "password": OPERATOR_PASSWORD}
    )
    assert _location(signed_in) == "/"
    # Register Fabrikam and issue its consent link.
    tenant_path = _location(operator.post("/tenants/add/", {"tenant_ref": ids.FABRIKAM_DOMAIN}))
    tenant_pk = int(tenant_path.strip("/").split("/")[-1])
    issued = operator.post(f"{tenant_path}links/", {"days": "7", "version": "v1"})
    created = operator.get(_location(issued))  # POST-redirect-GET: the token shows once
    assert created.status_code == 200, created.text[-2000:]
    token = re.search(r"/consent/([A-Za-z0-9_-]{20,})/", created.text).group(1)
    # The customer admin: landing page, Microsoft (cloudsim), back to the callback.
    admin = Browser(operator.base)
    assert admin.get(f"/consent/{token}/").status_code == 200
    to_microsoft = admin.post(f"/consent/{token}/")
    assert to_microsoft.status_code == 302
    back = urlsplit(
        answer_at_microsoft(
            cloudsim, to_microsoft.headers["location"], "admin@fabrikam.example", "approve"
        )
    )
    assert back.path == "/consent/callback/"
    state = re.search(r"state=([^&]+)", back.query).group(1)
    stack.secrets_seen = [token, state]
    assert admin.get(f"{back.path}?{back.query}").status_code == 200
    # The interactive worker verifies it.
    _poll(
        operator,
        f"/tenants/{tenant_pk}/status.json",
        lambda body: body["status"] == "verified",
    )
    # An ACS resource, the whole tenant assigned, "Sync now", the run succeeds.
    acs = cloudsim.acs_resources[ids.CONTOSO_ACS]
    resource_path = _location(
        operator.post(
            "/resources/add/",
            {
                "name": ids.CONTOSO_ACS,
                "endpoint": acs["endpoint"],
                "auth_method": "key",
                "key_env_var": "ACS_DEMO_ACCESS_KEY",
                "enabled": "on",
            },
        )
    )
    added = operator.post(
        f"{resource_path}assignments/add/", {"tenant": tenant_pk, "principal_type": "tenant"}
    )
    assert added.status_code == 302, added.text[-2000:]
    run_path = _location(operator.post(resource_path, {"action": "sync"}))
    progress = _poll(operator, f"{run_path}progress.json", lambda body: body["done"])
    assert progress["fields"]["failed"] == 0, progress
    remote = cloudsim.admin("GET", f"/acs/{ids.CONTOSO_ACS}/assignments")["value"]
    assert [a["objectId"] for a in remote] == [ids.FABRIKAM_TENANT_ID]
    # The audit log tells the story and exports it.
    export = operator.get("/audit/export.csv")
    assert export.status_code == 200
    for action in ("tenant.created", "consent.granted", "consent.verified", "sync.finished"):
        assert action in export.text, action
    # Queues: the person's work ran on the interactive worker, none on the periodic one; a
    # sweep sent as beat sends it runs, with what it fans out, on the periodic worker only.
    verify, sync = "Task tenants.tasks.verify_tenant[", "Task assignments.tasks.run_sync["
    assert verify in stack.log("worker-interactive") and sync in stack.log("worker-interactive")
    assert verify not in stack.log("worker-periodic")
    interactive_before = stack.log("worker-interactive").count(verify)
    # Fabrikam was just verified and the resource just synced: a sweep now skips both (checked
    # within the interval). An interval later, they are due.
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname=stack.database) as db:
        db.execute("UPDATE tenants_customertenant SET last_verified_at = now() - interval '1 day'")
        db.execute("UPDATE assignments_syncrun SET finished_at = now() - interval '1 day'")
    for sweep in ("tenants.tasks.verify_all_tenants", "assignments.tasks.sync_all_resources"):
        stack.run_once("beat", ["celery", "-A", "portal", "call", sweep])
    deadline = time.monotonic() + 30
    while not (verify in stack.log("worker-periodic") and sync in stack.log("worker-periodic")):
        assert time.monotonic() < deadline, stack.log("worker-periodic")
        time.sleep(0.5)
    assert stack.log("worker-interactive").count(verify) == interactive_before
