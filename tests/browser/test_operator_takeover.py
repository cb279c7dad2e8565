"""An operator takes over a web-chat conversation in the back-office and the visitor sees the person's reply
in the widget (issue 17, "Done when"): two browser contexts, the visitor's on the demo page, the member's on
the conversation page; the replies go through the real pipeline and the widget's polling."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import TIMEOUT_MS, VIEWPORT
from tests.helpers.browser import sign_in

ASK_NAME = "What's your name?"
HUMAN_REPLY = "Hi, this is Anna from the shop. How can I help?"


@pytest.fixture()
def shop(tenant: Any) -> Any:
    from webapp.extensions import db
    from webapp.services.channels import add_channel
    from webapp.services.flows import seed_templates_for

    web = add_channel(tenant, "webchat")
    seed_templates_for(tenant, ["lead_capture"], publish_now=True)
    db.session.commit()
    return SimpleNamespace(tenant=tenant, key=web.public_key)


@pytest.fixture()
def operator(browser: Any, live_server: str, shop: Any) -> Any:
    """The tenant's owner signed in, in a browser context of their own."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    pg.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
          and errors.append(f"console: {msg.text[:300]}"))  # the browser's own favicon probe is not the app's
    pg.js_errors = errors  # type: ignore[attr-defined]
    sign_in(pg, live_server, shop.tenant.owner_email, shop.tenant.owner_password)
    yield pg
    context.close()


def _log_has(page: Page, text: str) -> Any:
    return lambda: text in page.get_by_test_id("chat-log").inner_text()


def _conversation_id() -> int:
    from webapp.extensions import db
    from webapp.models import Conversation

    db.session.expire_all()
    [conv] = db.session.query(Conversation).all()
    return conv.id


def test_an_operator_takes_over_and_the_visitor_sees_the_reply(page: Page, operator: Page, live_server: str,
                                                               shop: Any, run_jobs: Any) -> None:
    page.goto(f"{live_server}/webchat/demo/{shop.key}")
    page.get_by_test_id("chat-bubble").click()
    page.get_by_test_id("chat-input").fill("hi")
    page.get_by_test_id("chat-send").click()
    run_jobs(until=_log_has(page, ASK_NAME), settle=lambda: page.wait_for_timeout(250))

    operator.goto(f"{live_server}/conversations/{_conversation_id()}")
    expect(operator.locator("#handoff-status")).to_contain_text("The bot answers")
    operator.locator("#take-over").click()
    expect(operator.locator("#handoff-status")).to_contain_text(f"Taken over by {shop.tenant.owner_email}")
    expect(operator.locator("#window-rules")).to_contain_text("answer at any time")

    operator.locator("#reply-text").fill(HUMAN_REPLY)
    operator.locator("#send-reply").click()
    expect(operator.get_by_text("Reply sent to the channel.")).to_be_visible()
    run_jobs(until=_log_has(page, HUMAN_REPLY), settle=lambda: page.wait_for_timeout(250))
    log = page.get_by_test_id("chat-log")
    expect(log.locator(".msg").last).to_have_text(HUMAN_REPLY)

    # the bot stays silent while the person owns the conversation; the page shows the customer waiting
    page.get_by_test_id("chat-input").fill("Great, thanks!")
    page.get_by_test_id("chat-send").click()
    expect(log.locator(".msg.visitor").last).to_have_text("Great, thanks!")
    run_jobs(until=lambda: "Customer waiting since" in _reload(operator))
    expect(log.locator(".msg").last).to_have_text("Great, thanks!")
    operator.reload()
    expect(operator.locator(".msg-human")).to_contain_text(HUMAN_REPLY)
    expect(operator.locator(".msg-human")).to_contain_text("sent")
    assert operator.js_errors == [] and page.js_errors == []  # type: ignore[attr-defined]


def _reload(page: Page) -> str:
    page.reload()
    return page.locator("#handoff-status").inner_text()
