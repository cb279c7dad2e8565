"""The inbox on a phone-width screen: no horizontal scroll, and a new conversation appears by itself
(inbox.js polls /inbox.json while the tab is visible)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.helpers.browser import sign_in

PHONE = {"width": 390, "height": 844}


def _conversation(db: Any, tenant: Any, channel: Any, who: str, text: str, **fields: Any) -> Any:
    from webapp.models import Contact, Conversation, Message

    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=f"ext-{who}", name=who)
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, **fields)
    db.session.add(conv)
    db.session.flush()
    db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id, direction="in",
                           text=text))
    db.session.commit()
    return conv


def test_the_inbox_fits_a_phone_and_updates_itself(page, db, tenant):
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat", name="A website chat with a rather long name for a phone")
    _conversation(db, tenant, web, "Maximiliane Alexandra Hohenzollern-Sigmaringen", "x" * 400, unread_count=3,
                  bot_paused=True, human_owner="a.very.long.operator.address@some-long-domain.example.com")
    page.set_viewport_size(PHONE)
    sign_in(page, page.base_url, tenant.owner_email, tenant.owner_password)
    page.goto(f"{page.base_url}/inbox")
    expect(page.get_by_test_id("inbox-row")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    _conversation(db, tenant, web, "Newcomer", "Do you open on Sundays?", unread_count=1)
    expect(page.get_by_test_id("inbox-row")).to_have_count(2)  # the poller redrew the list
    expect(page.get_by_test_id("inbox-row").first).to_contain_text("Do you open on Sundays?")
    expect(page.locator('[data-badge="unread"]')).to_have_text("4")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.js_errors == []  # type: ignore[attr-defined]
