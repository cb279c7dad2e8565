"""Several customers of one Telegram bot: Telegram numbers messages per chat, so their replies get the same
message_id; each must still be recorded as sent (ids are stored unique per channel)."""

from __future__ import annotations

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import events, outbound
from tests.helpers.webhooks import telegram_channel


def test_two_customers_of_one_bot_both_get_replies_recorded_as_sent(client, wired, make_tenant, db):
    channel, secret = telegram_channel(wired, make_tenant)
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    for update_id, chat_id in ((1, 555000111), (2, 555000222)):
        answer = client.post(f"/webhooks/telegram/{channel.id}", headers=headers,
                             data=mp.tg_update(update_id, "hello", chat_id=chat_id, message_id=1))
        assert answer.status_code == 200
    wired.queue.drain()

    sent = wired.telegram.sent
    assert sorted({r.params["chat_id"] for r in sent}) == [555000111, 555000222]
    assert len(sent) == 4  # the greeting and the first question, in each chat
    assert [(e.status, e.error) for e in events(db)] == [("done", None), ("done", None)]
    replies = outbound(db, channel.id)
    assert [m.delivery_status for m in replies] == ["sent"] * 4
    # The same message ids in both chats (the fake numbers them per chat, as Telegram does)...
    assert [m.external_id for m in replies] == ["tg:555000111:1000", "tg:555000111:1001",
                                                "tg:555000222:1000", "tg:555000222:1001"]
    # ...and the customers' own messages are keyed the same way.
    from webapp.models import Message

    inbound = db.session.query(Message).filter_by(direction="in").order_by(Message.id).all()
    assert [m.external_id for m in inbound] == ["tg:555000111:1", "tg:555000222:1"]


def test_the_owner_lets_the_bot_answer_in_groups(client, wired, make_tenant, db):
    """Off by default (a group message is not answered); the channel page's switch stores the setting and asks
    Telegram for channel posts too; then a group message is answered."""
    from tests.helpers.web import csrf_token, login

    channel, secret = telegram_channel(wired, make_tenant)
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    group = mp.tg_update(1, "hello group", chat_id=-1001305240521, user_id=42, message_id=1)
    assert client.post(f"/webhooks/telegram/{channel.id}", headers=headers, data=group).status_code == 200
    wired.queue.drain()
    assert wired.telegram.sent == []
    login(client, f"owner@{channel.tenant.slug}.example.com", "password-123")  # make_tenant's owner
    page = f"/channels/{channel.id}"
    assert "Answer in group chats" in client.get(page).get_data(as_text=True)
    resp = client.post(f"/channels/{channel.id}/groups", data={"allow_groups": "1",
                                                               "csrf_token": csrf_token(client, page)})
    assert resp.status_code == 303
    db.session.expire_all()
    assert channel.settings["allow_groups"] is True
    hook = wired.telegram.requests_to("/setWebhook")[-1].params
    assert "channel_post" in hook["allowed_updates"] and hook["secret_token"] == secret
    group = mp.tg_update(2, "hello again", chat_id=-1001305240521, user_id=42, message_id=2)
    assert client.post(f"/webhooks/telegram/{channel.id}", headers=headers, data=group).status_code == 200
    wired.queue.drain()
    assert {r.params["chat_id"] for r in wired.telegram.sent} == {-1001305240521}
