"""The demo web chat as `make run` shows it (#19), in a real browser: its default flow, the "AI assistant",
answers a price question from the FAQ (no model configured), takes a booking through its lead form (name,
phone, the confirmation's quick reply), and after the completed form answers "How much is a haircut?" from
the FAQ again instead of starting the form over.

Replies come from the real pipeline: the page posts to the public endpoint (live server thread) and
`run_jobs` runs the queue while the widget polls (as in test_webchat.py)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

HAIRCUT = "A haircut starts at 30 EUR."
BOOK = "Happy to book you in! 📅"
ASK_NAME = "What's your name?"
ASK_PHONE = "What's the best phone number to reach you?"
CONFIRM = "Anna, we'll call you at +37120123456 to arrange your visit. Is that right?"
THANKS = "Thank you, Anna! We'll call you soon."


def bot_said(page: Page, text: str, times: int = 1) -> Any:
    return lambda: page.get_by_test_id("chat-log").inner_text().count(text) >= times


def settle(page: Page) -> Any:
    return lambda: page.wait_for_timeout(250)  # lets the widget's 1.5 s poll come round


def type_and_send(page: Page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-send").click()


def test_the_demo_chat_answers_from_the_faq_before_and_after_a_completed_form(page: Page, live_server: str,
                                                                                run_jobs: Any) -> None:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Channel, Lead
    from webapp.services.demo import seed_demo

    demo = seed_demo()
    tenant_id = demo["tenant"]["id"]
    key = db.session.scalar(select(Channel.public_key).where(Channel.tenant_id == tenant_id,
                                                             Channel.type == "webchat"))
    assert demo["webchat_demo"].endswith(f"/webchat/demo/{key}")

    page.goto(f"{live_server}/webchat/demo/{key}")
    page.get_by_test_id("chat-bubble").click()
    expect(page.get_by_test_id("chat-panel")).to_be_visible()
    log = page.get_by_test_id("chat-log")
    bot = log.locator(".msg.bot")

    # the first reply to a price question is the FAQ's answer (no greeting, no form)
    type_and_send(page, "How much is a haircut?")
    run_jobs(until=bot_said(page, HAIRCUT), settle=settle(page))
    expect(bot).to_have_text([HAIRCUT])

    # buying intent: the lead form (name, phone, confirmation by quick reply)
    type_and_send(page, "I'd like to book")
    run_jobs(until=bot_said(page, ASK_NAME), settle=settle(page))
    expect(bot).to_have_text([HAIRCUT, BOOK, ASK_NAME])
    type_and_send(page, "Anna")
    run_jobs(until=bot_said(page, ASK_PHONE), settle=settle(page))
    type_and_send(page, "+371 2012 3456")
    run_jobs(until=bot_said(page, CONFIRM), settle=settle(page))
    chips = log.locator(".chip")
    expect(chips).to_have_text(["Yes", "No"])
    chips.filter(has_text="Yes").click()
    run_jobs(until=bot_said(page, THANKS), settle=settle(page))
    expect(bot.last).to_contain_text(THANKS)

    # after the completed form: the FAQ's answer, not the form again
    type_and_send(page, "How much is a haircut?")
    run_jobs(until=bot_said(page, HAIRCUT, times=2), settle=settle(page))
    expect(bot.last).to_have_text(HAIRCUT)
    expect(bot.filter(has_text=ASK_NAME)).to_have_count(1)
    expect(bot.filter(has_text=BOOK)).to_have_count(1)
    expect(log.locator(".msg.visitor")).to_have_text(
        ["How much is a haircut?", "I'd like to book", "Anna", "+371 2012 3456", "Yes", "How much is a haircut?"])
    assert page.js_errors == [], page.js_errors  # type: ignore[attr-defined]

    db.session.rollback()
    leads = list(db.session.scalars(select(Lead).where(Lead.tenant_id == tenant_id)))
    assert [(lead.source_channel, lead.fields) for lead in leads] == [
        ("webchat", {"name": "Anna", "phone": "+37120123456"})]
