"""The accessibility guard itself: a page nobody screenshots is still checked, even when the test
leaves it at once, and pages that are not the portal's (Microsoft's, on cloudsim) are not."""

from __future__ import annotations

BAD_PAGE = (
    "<!doctype html><html lang='en'><head><title>Bad</title></head><body><main>"
    "<h1>Bad</h1><img src='/static/missing.png'>"
    + "<ul>"
    + "<li><a href='#'>row</a> <button>act</button></li>" * 2000
    + "</ul>"
    "</main></body></html>"
)
# The same page, leaving itself while it is still being parsed (as a redirecting page would).
LEAVING_PAGE = BAD_PAGE.replace(
    "</ul>", "</ul><script>location.replace('/accounts/login/')</script>" + "<p>more</p>" * 2000
)


def test_a_page_left_at_once_is_checked_before_the_browser_leaves_it(
    page, live_server, accessibility_guard
):
    # A portal URL answering with an image without alt text (axe: image-alt, critical).
    page.route(
        "**/guard-check/",
        lambda route: route.fulfill(status=200, content_type="text/html", body=LEAVING_PAGE),
    )
    page.goto("/guard-check/", wait_until="commit")
    page.get_by_role("button", name="Sign In").wait_for()

    bad = f"{live_server.url}/guard-check/"
    assert accessibility_guard.checked[:2] == [bad, f"{live_server.url}/accounts/login/"]
    [failure] = accessibility_guard.failures
    assert failure.startswith(f"{bad}: image-alt (critical)")
    accessibility_guard.failures.clear()  # the violation was this test's own page


def test_pages_of_another_origin_are_not_checked(page, cloudsim_clean, accessibility_guard):
    page.context.route(
        f"{cloudsim_clean.login_url}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=BAD_PAGE),
    )
    page.goto(f"{cloudsim_clean.login_url}/guard-check/")
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign In").wait_for()
    assert not accessibility_guard.failures  # the same bad page, at cloudsim: not ours
    assert not any(url.startswith(cloudsim_clean.login_url) for url in accessibility_guard.checked)
