"""The website chat widget in a real browser (issue 4, "web chat in the browser"): the demo page of a tenant
with a published lead-capture flow, the bubble, a conversation, a reload that keeps it, the next question.

The conversation runs to the end: quick-reply chips, then a lead row. Replies are produced by the real
pipeline: the page posts to the public endpoint (live server thread), the
event is queued, and `run_jobs` runs the queue (embedded or RQ) while the widget polls.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Page, expect

GREETING = "Thanks for reaching out"
ASK_NAME = "What's your name?"
ASK_PHONE = "What's the best phone number to reach you?"
CONFIRM = "Anna, we'll call you at +12025550143. Is that right?"
THANKS = "Thank you, Anna! We'll call you soon."


@pytest.fixture()
def shop(make_tenant: Any) -> Any:
    from webapp.extensions import db
    from webapp.services.channels import add_channel
    from webapp.services.flows import seed_templates_for

    tenant = make_tenant("Browser Shop", plan="PRO")
    web = add_channel(tenant, "webchat")
    seed_templates_for(tenant, ["lead_capture"], publish_now=True)
    db.session.commit()
    return SimpleNamespace(tenant_id=tenant.id, key=web.public_key)


def chat_log_has(page: Page, text: str) -> Any:
    return lambda: text in page.get_by_test_id("chat-log").inner_text()


def settle(page: Page) -> Any:
    return lambda: page.wait_for_timeout(250)  # lets the widget's 1.5 s poll come round


def visitor_id(page: Page, key: str) -> str:
    return page.evaluate("k => localStorage.getItem('temoweb:' + k + ':visitor')", key)


def test_webchat_conversation_survives_a_reload_and_ends_in_a_lead(page: Page, live_server: str, shop: Any,
                                                                   run_jobs: Any) -> None:
    page.goto(f"{live_server}/webchat/demo/{shop.key}")
    bubble = page.get_by_test_id("chat-bubble")   # inside the widget's shadow root
    expect(bubble).to_be_visible()
    expect(page.get_by_test_id("chat-panel")).to_be_hidden()
    bubble.click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()

    page.get_by_test_id("chat-input").fill("hi")
    page.get_by_test_id("chat-send").click()
    log = page.get_by_test_id("chat-log")
    expect(log.locator(".msg.visitor")).to_have_text(["hi"])
    run_jobs(until=chat_log_has(page, ASK_NAME), settle=settle(page))
    expect(log.locator(".msg.bot").filter(has_text=GREETING)).to_have_count(1)
    expect(log.locator(".msg.bot").last).to_have_text(ASK_NAME)
    expect(log.locator(".msg.pending")).to_have_count(0)   # the server confirmed the visitor's message
    visitor = visitor_id(page, shop.key)
    assert visitor

    # a reload keeps the visitor (localStorage) and so the conversation
    page.reload()
    page.get_by_test_id("chat-bubble").click()
    expect(log.locator(".msg")).to_have_count(3)
    expect(log.locator(".msg.visitor")).to_have_text(["hi"])
    expect(log.locator(".msg.bot").last).to_have_text(ASK_NAME)
    assert visitor_id(page, shop.key) == visitor

    # the conversation goes on where it was: the name, then the phone question
    page.get_by_test_id("chat-input").fill("Anna")
    page.get_by_test_id("chat-send").click()
    run_jobs(until=chat_log_has(page, ASK_PHONE), settle=settle(page))
    expect(log.locator(".msg.visitor")).to_have_text(["hi", "Anna"])
    expect(log.locator(".msg.bot").last).to_have_text(ASK_PHONE)
    expect(page.get_by_test_id("chat-error")).to_have_text("")

    # the confirmation offers quick replies; a click on one answers and the lead is saved
    page.get_by_test_id("chat-input").fill("+1 202 555 0143")
    page.get_by_test_id("chat-send").click()
    run_jobs(until=chat_log_has(page, CONFIRM), settle=settle(page))
    chips = log.locator(".chip")
    expect(chips).to_have_text(["Yes", "No"])
    chips.filter(has_text="Yes").click()
    run_jobs(until=chat_log_has(page, THANKS), settle=settle(page))
    expect(chips).to_have_count(0)
    expect(log.locator(".msg.visitor").last).to_have_text("Yes")
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]

    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Lead

    db.session.rollback()
    leads = list(db.session.scalars(select(Lead).where(Lead.tenant_id == shop.tenant_id)))
    assert [(lead.source_channel, lead.fields) for lead in leads] == [
        ("webchat", {"name": "Anna", "phone": "+12025550143"})]
