"""The back-office in a real browser: the login form leads to the dashboard; the language switch works."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect


def test_login_form_leads_to_the_dashboard(page: Page, live_server: str, tenant: Any) -> None:
    page.goto(f"{live_server}/flows")                      # a member page redirects to the login form
    expect(page).to_have_url(f"{live_server}/login?next=%2Fflows")
    page.fill("#email", tenant.owner_email)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_be_visible()
    expect(page.locator("nav")).not_to_contain_text("Overview")

    page.fill("#email", tenant.owner_email)
    page.fill("#password", tenant.owner_password)
    page.click("button[type=submit]")
    expect(page.locator("nav")).to_contain_text(tenant.owner_email)
    expect(page.locator("nav .nav-link", has_text="Overview")).to_be_visible()
    assert "/login" not in page.url


def test_switching_to_russian_changes_the_nav(signed_in_page: Page) -> None:
    page = signed_in_page
    page.goto(f"{page.base_url}/flows")                    # type: ignore[attr-defined]
    nav = page.locator("nav")
    expect(nav.locator(".nav-link", has_text="Flows")).to_be_visible()
    with page.expect_navigation():
        page.locator("nav select[name=language]").select_option("ru")   # submits on change
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(nav.locator(".nav-link", has_text="Сценарии")).to_be_visible()
    expect(nav).not_to_contain_text("Flows")
    assert page.url.endswith("/flows"), page.url              # stays on the same page
    # the choice sticks to the user: another page is Russian too
    page.goto(f"{page.base_url}/")                        # type: ignore[attr-defined]
    expect(page.locator("html")).to_have_attribute("lang", "ru")
