"""The Content-Security-Policy (webapp/security.py) in a real browser: the back-office, the flow editor, the
staff panel and the web-chat demo run without a single refused script, style or request, and what used to
be inline handlers (the collapsed menu, the delete confirmation) still works."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import sign_in

WATCH = """window.__refused = [];
document.addEventListener('securitypolicyviolation',
  e => window.__refused.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile));"""


@pytest.fixture()
def watched(page: Page) -> Iterator[Page]:
    """`page`, recording every policy violation; the test fails if any page refused anything."""
    page.add_init_script(WATCH)
    yield page
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]  (refusals are console errors too)


def refused(page: Page) -> list[str]:
    return page.evaluate("window.__refused")


def visit(page: Page, path: str) -> None:
    resp = page.goto(f"{page.base_url}{path}")  # type: ignore[attr-defined]
    assert resp is not None and resp.ok, path
    assert "script-src 'self'" in (resp.header_value("content-security-policy") or ""), path
    page.wait_for_load_state("networkidle")
    assert refused(page) == [], (path, refused(page))


def test_back_office_pages_and_the_editor_run_under_the_policy(watched: Page, tenant: Any, flow_factory: Any,
                                                                editor_bundle: Any) -> None:
    page = watched
    visit(page, "/login")
    sign_in(page, page.base_url, tenant.owner_email, tenant.owner_password)  # type: ignore[attr-defined]
    flow = flow_factory(tenant, "Lead capture", template="lead_capture")
    for path in ("/", "/flows", "/channels", "/conversations", "/leads", "/notifications", "/settings/",
                 "/settings/faq", "/settings/prompts", f"/flows/{flow.id}/edit"):
        visit(page, path)
    expect(page.locator(".react-flow__node").first).to_be_visible()  # the editor did render


def test_the_menu_and_the_delete_confirmation_work_without_inline_handlers(watched: Page, tenant: Any,
                                                                           flow_factory: Any) -> None:
    page = watched
    sign_in(page, page.base_url, tenant.owner_email, tenant.owner_password)  # type: ignore[attr-defined]
    flow_factory(tenant, "Doomed flow", template="lead_capture")
    page.set_viewport_size({"width": 600, "height": 900})
    visit(page, "/flows")
    menu = page.locator("#nav")
    expect(menu).to_be_hidden()
    page.locator(".navbar-toggler").click()
    expect(menu).to_be_visible()

    row = page.locator("tr", has_text="Doomed flow")
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_visible()  # "Cancel" keeps it
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        row.get_by_role("button", name="Delete").click()
    expect(page.locator("tr", has_text="Doomed flow")).to_have_count(0)
    assert refused(page) == []


def test_the_staff_panel_runs_under_its_policy(watched: Page, staff_user: Any, tenant: Any) -> None:
    page = watched
    sign_in(page, page.base_url, staff_user.email, staff_user.raw_password)  # type: ignore[attr-defined]
    for path in ("/admin/tenant/", "/admin/user/", "/admin/inboundevent/"):
        resp = page.goto(f"{page.base_url}{path}")  # type: ignore[attr-defined]
        assert resp is not None and resp.ok, path
        page.wait_for_load_state("networkidle")
        assert refused(page) == [], (path, refused(page))


def test_the_web_chat_demo_runs_under_the_policy(watched: Page, make_tenant: Any, db: Any) -> None:
    from webapp.services.channels import add_channel

    key = add_channel(make_tenant("Demo Shop"), "webchat").public_key
    db.session.commit()
    visit(watched, f"/webchat/demo/{key}")  # waits for the widget's first poll to finish
    bubble = watched.get_by_test_id("chat-bubble")
    expect(bubble).to_be_visible()
    # the widget's own <style> applied (the panel is not opened: its polling could outlive the test)
    assert bubble.evaluate("b => getComputedStyle(b).position") == "fixed"
    assert refused(watched) == []
