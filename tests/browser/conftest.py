"""Playwright driving Debian's Chromium against the live portal (never a downloaded browser).

Each test gets a fresh browser context; ``shot(page, name)`` saves a screenshot under
``test-artifacts/screenshots/``. The live server shares the test database with the Celery worker
process.

Accessibility: axe-core checks every portal page a browser test reaches, screenshotted or not,
and a serious or critical violation fails the test. Every context a browser test opens routes
its requests through ``AccessibilityGuard``: before a top-level navigation leaves a portal
page (a link, a form, ``goto``, a redirect to Microsoft), that page is checked as the person saw
it; when the test body ends, so is each page still open. cloudsim's pages (Microsoft's) are not
ours and are not checked.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


BLOCKING = ("serious", "critical")


def describe(violations: list[dict]) -> str:
    return "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    )


# What axe checks: the whole document, except the operation rows of Swagger UI on the API docs
# page (a third-party widget): each row is a button holding another button (axe
# nested-interactive), which only Swagger UI itself can change. Its colours are fixed in
# api/static/api/docs.css and checked.
AXE_CONTEXT_VALUE = {"include": [["html"]], "exclude": [[".swagger-ui .opblock-summary"]]}


# Runs in every document of a watched context before the page's own scripts (through DevTools,
# so the page's CSP stays as shipped): on a portal HTML page, axe-core checks the document once
# its DOM is parsed and reports to the test through a binding.
AXE_ON_EVERY_PAGE = """(() => {
  if (location.origin !== %(origin)s || document.contentType !== "text/html"
      || window !== window.top) return;
  window.__axeReport("start", location.href, null);
  const AXE_CONTEXT = %(context)s;
  const run = () => {
    %(axe)s
    axe.run(AXE_CONTEXT, {resultTypes: ["violations"]}).then(
      (result) => window.__axeReport("done", location.href, result.violations),
      (error) => window.__axeReport("done", location.href,
        [{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
  };
  // Once parsed, or when the parser is aborted (a page leaving itself gets no DOMContentLoaded).
  let started = false;
  const once = () => {
    if (!started && document.readyState !== "loading") { started = true; run(); }
  };
  document.addEventListener("readystatechange", once);
  once();
})();"""


class AccessibilityGuard:
    """axe-core on every portal page a context shows, each checked before the browser leaves it.

    A page reports "start" when its document begins and "done" with axe's violations once its
    DOM is parsed. A top-level navigation away from a page that has not reported yet waits (its
    request is held) until it has: so a test that clicks on quickly cannot skip a check.
    """

    def __init__(self, axe_source: str, origin: str) -> None:
        self.axe_source = axe_source
        self.origin = origin.rstrip("/")
        self.checked: list[str] = []  # URLs, in the order their check finished
        self.failures: list[str] = []  # "url: violations", one per failing check
        self.contexts: list[Any] = []
        self._running: dict[Any, str] = {}  # page -> URL of the document still being checked
        self._held: dict[Any, list[Any]] = {}  # page -> navigations waiting for that check

    def watch(self, context: Any) -> Any:
        context.expose_binding("__axeReport", self._on_report)
        context.add_init_script(
            AXE_ON_EVERY_PAGE
            % {
                "origin": json.dumps(self.origin),
                "axe": self.axe_source,
                "context": json.dumps(AXE_CONTEXT_VALUE),
            }
        )
        context.route("**/*", self._on_request)
        self.contexts.append(context)
        return context

    def _on_report(self, source: dict, phase: str, url: str, violations: list[dict]) -> None:
        page = source["page"]
        if phase == "start":
            self._running[page] = url
            return
        self._running.pop(page, None)
        self._record(url, violations)
        for route in self._held.pop(page, []):
            route.fallback()

    def _on_request(self, route: Any) -> None:
        request = route.request
        if request.resource_type == "document" and request.is_navigation_request():
            frame = request.frame
            if frame.parent_frame is None and frame.page in self._running:
                self._held.setdefault(frame.page, []).append(route)
                return
        route.fallback()

    def _record(self, url: str, violations: list[dict]) -> list[dict]:
        self.checked.append(url)
        bad = [v for v in violations if v["impact"] in BLOCKING]
        if bad:
            self.failures.append(f"{url}: {describe(bad)}")
        return violations

    def check(self, page: Any) -> list[dict]:
        """Check ``page`` as it is now (after scripts changed it, say); every violation found."""
        if page.is_closed() or not page.url.startswith(self.origin + "/"):
            return []
        if not page.evaluate("() => typeof axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        result = page.evaluate(
            "async (context) => await axe.run(context, {resultTypes: ['violations']})",
            AXE_CONTEXT_VALUE,
        )
        return self._record(page.url, result["violations"])

    def check_open_pages(self) -> None:
        for context in self.contexts:
            for page in context.pages:
                self.check(page)


GUARD = pytest.StashKey[AccessibilityGuard]()


@pytest.fixture(autouse=True)
def accessibility_guard(request, browser, live_server, axe_source, monkeypatch):
    """Every context opened during the test, whoever opens it, is watched by the guard."""
    guard = AccessibilityGuard(axe_source, live_server.url)
    request.node.stash[GUARD] = guard
    new_context = browser.new_context
    monkeypatch.setattr(
        browser, "new_context", lambda *args, **kwargs: guard.watch(new_context(*args, **kwargs))
    )
    return guard


CHECKED: list[str] = []  # every page checked in this session, for the summary line


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body: check the pages still open, then fail on any blocking violation."""
    result = yield
    guard = item.stash.get(GUARD, None)
    if guard is not None:
        guard.check_open_pages()
        CHECKED.extend(guard.checked)
        assert not guard.failures, "axe-core: " + " | ".join(guard.failures)
    return result


def pytest_terminal_summary(terminalreporter):
    if CHECKED:
        paths = {urlsplit(url).path for url in CHECKED}
        terminalreporter.write_line(
            f"axe-core: {len(CHECKED)} checks of portal pages ({len(paths)} distinct paths)"
        )


@pytest.fixture
def shot(accessibility_guard):
    """Screenshot the page and assert axe-core finds no serious or critical violation on it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> list[dict]:
        safe = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
        violations = accessibility_guard.check(page)
        bad = [v for v in violations if v["impact"] in BLOCKING]
        assert not bad, f"{name}: {describe(bad)}"
        return violations

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
