"""A new business signing up, and a forgotten password, in a real browser (issue 16): the pages, the mail
that a queued job sends to the loopback SMTP server, and its one-time link opened in the same browser.

The mail jobs run in the test's thread (`run_jobs`: the embedded queue or RQ, as the suite runs), and the
mail's links point at the live server (PUBLIC_BASE_URL), so the test opens exactly the link that was mailed.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.fakes.smtp import FakeSMTP

EMAIL = "ann@nails.example.com"
BUSINESS = "Ann's Nails"
PASSWORD = "a-long-password-1"
NEW_PASSWORD = "brand-new-password-7"


@pytest.fixture()
def mailed_links_here(app: Flask, live_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The links in the mails point at the live server, as PUBLIC_BASE_URL does in production."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", live_server)
    return live_server


def _mail(run_jobs: Any, smtp_server: FakeSMTP, count: int = 1) -> EmailMessage:
    """Runs the queued jobs until the `count`th mail has arrived, and answers that mail."""
    run_jobs(lambda: len(smtp_server.messages) >= count)
    return smtp_server.messages[count - 1]


def _link(mail: EmailMessage, base_url: str, path: str) -> str:
    """The link the person would follow: the first `base_url` + `path`... in the plain-text body."""
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(re.escape(base_url + path) + r"\S+", text)
    assert match, f"no {base_url}{path} link in: {text}"
    return match.group(0)


def _user(db: Any, email: str) -> Any:
    from webapp.models import User

    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_a_new_business_signs_up_confirms_and_reaches_the_checklist(
        page: Page, db: Any, mailed_links_here: str, smtp_server: FakeSMTP, run_jobs: Any) -> None:
    base = mailed_links_here
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(f"{base}/signup")
    page.fill("#business", BUSINESS)
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.select_option("#language", "en")
    page.get_by_role("button", name="Create the account").click()

    # signed in straight away, told to check the mailbox
    expect(page).to_have_url(f"{base}/confirm")
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text(f"We sent a confirmation link to {EMAIL}")
    expect(page.locator("main")).to_contain_text(f"We sent a link to {EMAIL}")
    expect(page.locator("nav")).to_contain_text(EMAIL)
    page.get_by_role("link", name="Continue to the dashboard").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator(".alert-warning")).to_contain_text("Please confirm your email address")
    assert _user(db, EMAIL).email_confirmed_at is None

    mail = _mail(run_jobs, smtp_server)
    assert mail["To"] == EMAIL and "Confirm your email address" in mail["Subject"]
    page.goto(_link(mail, base, "/confirm/"))

    # back on the dashboard home, confirmed, with the onboarding checklist of a brand-new tenant
    expect(page).to_have_url(f"{base}/")
    expect(page.locator(".alert-success")).to_contain_text("Your email address is confirmed.")
    expect(page.locator("main")).not_to_contain_text("Please confirm your email address")
    expect(page.get_by_role("heading", level=1)).to_contain_text(BUSINESS)
    checklist = page.get_by_test_id("onboarding")
    expect(checklist).to_be_visible()
    expect(checklist.get_by_role("heading", name="Getting started")).to_be_visible()
    expect(checklist.get_by_test_id("step-plan")).to_have_attribute("data-done", "yes")
    for step in ("channels", "template", "live"):
        expect(checklist.get_by_test_id(f"step-{step}")).to_have_attribute("data-done", "no")
    expect(checklist.get_by_role("link", name="Connect channels")).to_be_visible()

    user = _user(db, EMAIL)
    assert user.email_confirmed_at is not None and user.role == "owner"
    assert user.tenant.name == BUSINESS and user.tenant.plan.code == "START"
    assert len(smtp_server.messages) == 1
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_a_forgotten_password_is_reset_by_mail_and_the_link_works_once(
        page: Page, db: Any, tenant: Any, mailed_links_here: str, smtp_server: FakeSMTP, run_jobs: Any) -> None:
    base = mailed_links_here
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(f"{base}/reset")
    page.fill("#email", tenant.owner_email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    expect(page.locator("main")).to_contain_text("If an account exists for that address")

    mail = _mail(run_jobs, smtp_server)
    assert mail["To"] == tenant.owner_email and "Reset" in mail["Subject"]
    link = _link(mail, base, "/reset/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    expect(page).to_have_url(f"{base}/")  # the reset signs in
    expect(page.locator(".alert-success")).to_contain_text("Your password is changed.")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/login")
    page.fill("#email", tenant.owner_email)
    page.fill("#password", tenant.owner_password)          # the old password no longer works
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".alert-danger")).to_contain_text("Wrong email or password.")
    page.fill("#email", tenant.owner_email)
    page.fill("#password", NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("nav")).to_contain_text(tenant.owner_email)
    expect(page.get_by_test_id("onboarding")).to_be_visible()

    reused = page.goto(link)
    assert reused is not None and reused.status == 410
    expect(page.get_by_role("heading", name="This link cannot be used")).to_be_visible()
    expect(page.locator("main")).to_contain_text("The link has already been used.")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    assert _user(db, tenant.owner_email).check_password(NEW_PASSWORD)
    unexpected = [e for e in page.js_errors  # type: ignore[attr-defined]
                  if not re.match(r"http (401: POST \S+/login|410: GET \S+/reset/)", e)]
    assert unexpected == []
