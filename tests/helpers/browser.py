"""Browser helpers (Playwright pages)."""

from __future__ import annotations

from typing import Any


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Through the real login form (CSRF token and session cookie included)."""
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise AssertionError(f"sign-in failed for {email}: {page.inner_text('main')[:300]}")
