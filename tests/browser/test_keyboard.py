"""An operator's onboarding journey with the keyboard alone: sign in, register a tenant, create a
consent link, with Tab, Shift+Tab, Enter and Space (and typing into fields), never the mouse.

Every element Tab stops on must show where the focus is: an outline of at least 2 px, or a ring
drawn with a box shadow (WCAG 2.4.7 "Focus visible").
"""

from __future__ import annotations

import re

import pytest

from cloudsim import ids
from tests.factories import PASSWORD

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const label = el.labels && el.labels.length ? el.labels[0].innerText : "";
  return {
    tag: el.tagName.toLowerCase(),
    name: (el.getAttribute("aria-label") || label || el.innerText || el.value || "").trim(),
    outline: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    shadow: style.boxShadow,
  };
}"""


def assert_focus_visible(focused: dict) -> None:
    outlined = focused["outline"] not in ("none", "") and focused["outlineWidth"] >= 2
    ringed = focused["shadow"] not in ("none", "")
    assert outlined or ringed, f"no visible focus on {focused['tag']} {focused['name']!r}"


def tab_to(page, name: str, *, backwards: bool = False, limit: int = 60) -> dict:
    """Press Tab (or Shift+Tab) until the focused element's accessible name matches ``name``
    (a regular expression; a label's trailing colon is ignored); every stop on the way must
    show its focus."""
    key = "Shift+Tab" if backwards else "Tab"
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert_focus_visible(focused)
        seen.append(focused["name"][:40])
        if re.fullmatch(name, focused["name"].rstrip(" :*")):
            return focused
    raise AssertionError(f"{name!r} not reached with {key}; focus went through {seen}")


def press_and_follow(page, key: str) -> None:
    """Press ``key`` on the focused link or button and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_an_operator_onboards_a_tenant_with_the_keyboard_alone(
    browser, portal, operator_user, accessibility_guard
):
    context = browser.new_context(base_url=portal.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    keyboard = page.keyboard
    page.goto("/accounts/login/")

    tab_to(page, "Email")
    keyboard.type(operator_user.email)
    tab_to(page, "Password")
    keyboard.type(PASSWORD)
    tab_to(page, "Sign In")
    press_and_follow(page, "Enter")
    page.get_by_role("heading", name="Dashboard").wait_for()

    tab_to(page, "Tenants")
    press_and_follow(page, "Enter")
    tab_to(page, r"\+? ?Add tenant")
    press_and_follow(page, "Enter")
    page.get_by_role("heading", name="Add a customer tenant").wait_for()

    tab_to(page, "Tenant id or verified domain")
    keyboard.type(ids.FABRIKAM_DOMAIN)
    tab_to(page, "Cancel")  # one stop too far, and back
    tab_to(page, "Add tenant", backwards=True)
    press_and_follow(page, "Space")
    page.get_by_role("heading", name="Consent links").wait_for()
    assert ids.FABRIKAM_DOMAIN in page.inner_text("h1")

    summary = tab_to(page, "Create a consent link")
    assert summary["tag"] == "summary"
    keyboard.press("Enter")  # opens the form
    tab_to(page, "Create consent link")
    press_and_follow(page, "Enter")

    link = page.get_by_label(re.compile("Consent link"))
    assert link.input_value().startswith(f"{portal.url}/consent/")
    tab_to(page, "Copy link")
    assert len(accessibility_guard.checked) >= 5  # sign-in, dashboard, list, form, tenant, link
    context.close()
