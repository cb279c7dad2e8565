"""Telegram: `flask channel add --type telegram` calls getMe + setWebhook; updates in, sendMessage out."""

from __future__ import annotations

import json

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import events, outbound
from tests.helpers.webhooks import add_bot, telegram_channel


def test_channel_add_sets_the_webhook_with_a_secret(wired, make_tenant, db):
    tenant = make_tenant("Bot shop")
    result = add_bot(wired.app, wired.telegram, tenant.id, wired.telegram.token)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["webhook_url"] == f"https://bots.example.test/webhooks/telegram/{out['id']}"
    assert wired.telegram.token not in result.output
    [set_hook] = wired.telegram.requests_to("/setWebhook")
    assert set_hook.params["url"] == out["webhook_url"]
    assert 1 <= len(set_hook.params["secret_token"]) <= 256
    assert wired.telegram.requests_to("/getMe")


def test_bad_bot_token_is_a_clear_cli_error(wired, make_tenant, db):
    tenant = make_tenant("Bot shop")
    result = add_bot(wired.app, wired.telegram, tenant.id, "999:not-a-real-token")
    assert result.exit_code == 1 and "Telegram did not accept this bot token" in result.output
    assert "not-a-real-token" not in result.output
    from webapp.models import Channel

    assert db.session.query(Channel).count() == 0  # nothing half-created


def test_update_in_reply_out_and_edits(client, wired, make_tenant, db):
    channel, secret = telegram_channel(wired, make_tenant)
    url = f"/webhooks/telegram/{channel.id}"
    hdr = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
    assert client.post(url, data=mp.tg_update(1, "hello"), headers={"Content-Type": "application/json"}) \
        .status_code == 401
    assert client.post(url, data=mp.tg_update(1, "hello"), headers={**hdr, "X-Telegram-Bot-Api-Secret-Token": "x"}) \
        .status_code == 401
    assert client.post(url, data=b"{not json", headers=hdr).status_code == 400
    assert client.post(url, data=mp.tg_update(1, "hello", message_id=10), headers=hdr).status_code == 200
    wired.queue.drain()
    sent = wired.telegram.requests_to("/sendMessage")
    assert len(sent) == 2
    assert sent[0].path == f"/bot{wired.telegram.token}/sendMessage"
    assert str(sent[0].params["chat_id"]) == "555000111"
    # Telegram retries the same update: nothing new is stored or sent.
    client.post(url, data=mp.tg_update(1, "hello", message_id=10), headers=hdr)
    # An edit of the user's message updates what we stored and is not answered again.
    client.post(url, data=mp.tg_update(2, "hello (edited)", message_id=10, edited=True), headers=hdr)
    wired.queue.drain()
    assert len(wired.telegram.requests_to("/sendMessage")) == 2
    from webapp.models import Message

    db.session.expire_all()
    inbound = db.session.query(Message).filter_by(direction="in").all()
    assert [m.text for m in inbound] == ["hello (edited)"]
    assert events(db)[-1].reason.startswith("stored message updated")
    assert [m.delivery_status for m in outbound(db, channel.id)] == ["sent", "sent"]


def test_telegram_429_retry_after(client, wired, make_tenant, db):
    channel, secret = telegram_channel(wired, make_tenant)
    wired.telegram.fail(status=429, times=1, path="/sendMessage", retry_after=0)
    client.post(f"/webhooks/telegram/{channel.id}", data=mp.tg_update(5, "hi", message_id=3),
                headers={"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"})
    wired.queue.drain()
    assert [m.delivery_status for m in outbound(db, channel.id)] == ["sent", "sent"]
