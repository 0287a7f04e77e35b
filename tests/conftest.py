"""Shared fixtures: operators of each role, cloudsim wired into settings, a real Celery worker.

Integration fixtures start real processes: cloudsim (HTTPS on loopback) and a Celery worker on
the test database and the configured broker (Redis when REDIS_URL is set, else the filesystem
broker under var/test). Tests that use them need committed data: mark them
``@pytest.mark.django_db(transaction=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from portal.models import Role, User
from tests.factories import PASSWORD, OperatorFactory
from tests.support.arrangements import VerifiedTenantWithAcs, verified_tenant_with_acs

pytest_plugins = ["cloudsim.pytest_plugin", "tests.notifications.fixtures"]
__all__ = ["PASSWORD"]  # tests sign in with it (tests/factories.py)


@pytest.fixture
def make_user(db):
    def make(email: str, role: str = Role.OPERATOR, **extra) -> User:
        return OperatorFactory(email=email, role=role, **extra)

    return make


@pytest.fixture
def admin_user(make_user) -> User:
    return make_user("dana@contoso.example", Role.ADMIN)


@pytest.fixture
def operator_user(make_user) -> User:
    return make_user("omar@contoso.example", Role.OPERATOR)


@pytest.fixture
def auditor_user(make_user) -> User:
    return make_user("aiko@contoso.example", Role.AUDITOR)


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(client, admin_user):
    return _client_for(client, admin_user)


@pytest.fixture
def operator_client(client, operator_user):
    return _client_for(client, operator_user)


@pytest.fixture
def auditor_client(client, auditor_user):
    return _client_for(client, auditor_user)


@pytest.fixture(scope="session")
def microsoft_env(cloudsim) -> dict[str, str]:
    """Point the portal at cloudsim: the same variables ``make run`` sets, applied to settings.

    Settings were read before cloudsim picked its free ports, so the Microsoft part is computed
    again here with the same function ``portal.settings`` uses.
    """
    from portal.msconfig import microsoft_settings

    env = {**cloudsim.portal_env(), "CLOUDSIM_MODE": "True"}
    for key, value in microsoft_settings(lambda name, default: env.get(name, default)).items():
        setattr(settings, key, value)
    settings.CLOUDSIM_MODE = True
    os.environ.update(env)  # ACS key variables are read from the environment at call time
    return env


@pytest.fixture
def microsoft(cloudsim_clean, microsoft_env, settings):
    """A fresh cloudsim, the portal pointed at it, no tokens cached from earlier tests; consent
    comes back to http://127.0.0.1:8000 (registered on cloudsim's app; the test client answers)."""
    from django.core.cache import cache

    from tenants import graph

    cache.clear()
    settings.PORTAL_BASE_URL = "http://127.0.0.1:8000"
    graph.reset_token_caches()
    yield cloudsim_clean
    graph.reset_token_caches()


@pytest.fixture(name="verified_tenant_with_acs")
def verified_tenant_with_acs_fixture(microsoft) -> VerifiedTenantWithAcs:
    """Fabrikam consented at cloudsim and verified in the portal, with its Sales group, and
    cloudsim's ``contoso-acs`` (no assignments yet) registered: tests/support/arrangements.py."""
    return verified_tenant_with_acs(microsoft)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, microsoft_env, smtp_inbox, tmp_path_factory):
    """A real Celery worker process (prefork, 2 children) on the test database; its mail goes
    to the test SMTP server and its webhooks may reach receivers on loopback."""
    from tests.support.worker import WorkerProcess, test_database_url

    env = {
        **os.environ,
        **microsoft_env,
        **smtp_inbox.worker_env(),
        "DATABASE_URL": test_database_url(),
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "DJANGO_ENV": "test",
        # its processes' metrics, for tests that scrape /metrics (portal/metrics.py)
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    log = Path(tmp_path_factory.mktemp("celery")) / "worker.log"
    worker = WorkerProcess(env, log).start()
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def eager_celery():
    """Run tasks in-process (unit tests only; integration tests use ``celery_worker``)."""
    from portal.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture(scope="session", autouse=True)
def _empty_task_queue():
    """Start every test session with an empty queue: old messages would reach new workers."""
    import shutil

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        from portal.celery import _prepare_embedded_broker, app

        shutil.rmtree(settings.CELERY_BROKER_DIR, ignore_errors=True)
        _prepare_embedded_broker(app)
    else:
        from portal.celery import app

        app.control.purge()
    yield


_SKIPPED_REAL: list[str] = []


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright keeps an event loop running in this thread once started."""
    items.sort(key=lambda item: "tests/browser/" in str(item.fspath))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and (
        item.get_closest_marker("integration") or item.get_closest_marker("browser")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED_REAL.append(f"{item.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _SKIPPED_REAL:
        terminalreporter.section("skipped integration/browser tests")
        for line in _SKIPPED_REAL:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    """In CI (PORTAL_REQUIRE_ALL_TESTS=1) a skipped integration or browser test fails the run."""
    if os.environ.get("PORTAL_REQUIRE_ALL_TESTS") and _SKIPPED_REAL and exitstatus == 0:
        session.exitstatus = 1
