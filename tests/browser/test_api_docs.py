"""The API docs render in Chromium under the portal's CSP, and the API tokens page works."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_swagger_ui_renders_every_tag_under_the_csp(operator_page):
    page = operator_page
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto("/api/v1/docs/")
    page.locator(".opblock-tag", has_text="tenants").first.wait_for()
    for tag in ("assignments", "audit events", "consent links", "sync runs"):
        assert page.locator(".opblock-tag", has_text=tag).count() >= 1
    assert page.locator(".opblock").count() >= 30  # every operation is listed
    assert not refused, refused


def test_issue_a_token_shown_once_then_revoke_it(operator_page, shot):
    page = operator_page
    page.goto("/api/tokens/")
    page.get_by_label("Name").fill("sign-up flow")
    page.get_by_label("Scope").select_option("write")
    page.get_by_role("button", name="Issue token").click()
    secret = page.locator("#new-token").inner_text()
    assert secret.startswith("acsp_")
    shot(page, "api-tokens")
    page.reload()
    assert page.locator("#new-token").count() == 0
    page.get_by_role("button", name="Revoke sign-up flow").click()
    page.get_by_text("revoked").first.wait_for()
