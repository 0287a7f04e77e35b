"""Playwright driving Debian's Chromium against the live portal (never a downloaded browser).

Each test gets a fresh browser context; ``shot(page, name)`` saves a screenshot under
``test-artifacts/screenshots/`` and runs axe-core on the page (no serious or critical violation
allowed). The live server shares the test database with the Celery worker process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
BASE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = BASE_DIR / "test-artifacts" / "screenshots"
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around
# it are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(ignore_https_errors=False, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm install --no-save axe-core@4)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def shot(axe_source, request):
    """Screenshot the page and assert axe-core finds no serious or critical violation."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> list[dict]:
        safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
        page.evaluate(axe_source)  # through DevTools, so the page CSP stays as shipped
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{name}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in bad
        )
        return result["violations"]

    return take


@pytest.fixture
def portal(live_server, settings, microsoft_env, cloudsim_clean, celery_worker):
    """The live portal wired to cloudsim and a worker; consent comes back to the live server."""
    settings.PORTAL_BASE_URL = live_server.url
    return live_server


@pytest.fixture
def operator_page(browser, portal, operator_user):
    user = operator_user
    context = browser.new_context(base_url=portal.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name="Dashboard").wait_for()
    yield page
    context.close()


@pytest.fixture
def admin_browser(browser, portal):
    """The customer admin: no portal account. cloudsim's CA is not in Chromium's trust store."""
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()
