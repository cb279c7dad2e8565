import json

import pytest

from connectors.channels import telegram
from connectors.channels.base import PayloadError
from connectors.channels.events import Outbound
from connectors.channels.registry import get_connector
from tests.fakes.meta_payloads import tg_callback, tg_update
from tests.helpers.threads import recorded_sleeps

tg = get_connector("telegram")


# --- verify / parse ------------------------------------------------------------------------------------

def test_verify_secret_token_header():
    assert tg.verify({"X-Telegram-Bot-Api-Secret-Token": "s3cret_-"}, b"{}", "s3cret_-")
    assert tg.verify({"x-telegram-bot-api-secret-token": "s3cret_-"}, b"{}", "s3cret_-")
    assert not tg.verify({"X-Telegram-Bot-Api-Secret-Token": "guess"}, b"{}", "s3cret_-")
    assert not tg.verify({}, b"{}", "s3cret_-")
    assert not tg.verify({"X-Telegram-Bot-Api-Secret-Token": ""}, b"{}", "")


def test_parse_message():
    [event] = tg.parse(tg_update(100, "Привет", chat_id=555, message_id=9), account_id="chan-7")
    assert (event.channel_type, event.account_id, event.kind) == ("telegram", "chan-7", "message")
    assert (event.external_id, event.user_id, event.text) == ("tg:555:9", "555", "Привет")
    assert event.meta["chat_type"] == "private" and event.meta["update_id"] == 100
    assert event.meta["username"] == "customer" and event.meta["name"] == "Ann"


def test_edited_message_is_a_new_event_of_kind_edit():
    [original] = tg.parse(tg_update(100, "helo", message_id=9, date=1700000000))
    [edit] = tg.parse(tg_update(101, "hello", message_id=9, date=1700000000, edited=True))
    assert edit.kind == "edit" and edit.text == "hello"
    assert edit.external_id != original.external_id
    assert edit.external_id == "tg:555000111:9:edit:1700000005"
    assert edit.meta["edit_date"] == 1700000005


def test_callback_query_becomes_text_from_data():
    [event] = tg.parse(tg_callback(102, "Book now", query_id="q1"))
    assert event.text == "Book now" and event.external_id == "tg:cb:q1"
    assert event.meta["callback_query_id"] == "q1" and event.meta["chat_id"] == 555000111


def _channel_post(update_id: int, chat_id: int = -1001305240521) -> bytes:
    post = {"message_id": 2, "chat": {"id": chat_id, "title": "news", "type": "channel"}, "date": 1, "text": "post"}
    return json.dumps({"update_id": update_id, "channel_post": post}).encode()


def test_groups_and_channel_posts_are_not_answered_by_default():
    """A shop bot added to a group must not answer everyone in it, nor its own channel's posts."""
    assert tg.parse(tg_update(103, "hi all", chat_id=-100123, user_id=42)) == []
    assert tg.parse(tg_update(104, "hi all", chat_id=-100123, user_id=42, edited=True)) == []
    assert tg.parse(_channel_post(105)) == []
    assert tg.parse(tg_callback(106, "Yes", chat_id=-100123, user_id=42)) == []
    assert tg.parse(json.dumps({"update_id": 107, "my_chat_member": {}}).encode()) == []


def test_groups_and_channel_posts_when_the_channel_allows_them():
    allow = {"allow_groups": True}
    [event] = tg.parse(tg_update(103, "hi all", chat_id=-100123, user_id=42), settings=allow)
    assert event.user_id == "42" and event.meta["chat_id"] == -100123 and event.meta["chat_type"] == "group"
    assert event.external_id == "tg:-100123:1"
    [post] = tg.parse(_channel_post(105), settings=allow)
    assert (post.user_id, post.text, post.meta["chat_type"]) == ("-1001305240521", "post", "channel")
    [press] = tg.parse(tg_callback(106, "Yes", chat_id=-100123, user_id=42), settings=allow)
    assert press.text == "Yes"
    assert tg.parse(tg_update(103, "hi all", chat_id=-100123, user_id=42), settings={"allow_groups": False}) == []


def test_channel_posts_are_asked_for_only_when_the_channel_allows_groups():
    assert "channel_post" not in telegram.allowed_updates({})
    assert telegram.allowed_updates(None) == telegram.DEFAULT_ALLOWED_UPDATES
    assert {"channel_post", "edited_channel_post"} <= set(telegram.allowed_updates({"allow_groups": True}))


def test_a_chat_without_a_type_is_private_when_its_id_is_positive():
    update = {"update_id": 1, "message": {"message_id": 5, "date": 1, "text": "hi",
                                          "from": {"id": 9, "is_bot": False, "first_name": "Bo"}, "chat": {"id": 9}}}
    [event] = tg.parse(json.dumps(update).encode())
    assert event.meta["chat_type"] == "private"
    update["message"]["chat"]["id"] = -9
    assert tg.parse(json.dumps(update).encode()) == []


@pytest.mark.parametrize("raw", [b"nope", b"[]", b'{"message": {}}', b'{"update_id": "1"}'])
def test_malformed_update(raw):
    with pytest.raises(PayloadError):
        tg.parse(raw)


# --- send ----------------------------------------------------------------------------------------------

def test_sent_ids_are_unique_per_chat_as_telegram_numbers_them(telegram_api, connector_config):
    """Telegram numbers messages per chat: two customers' first replies get the same message_id. The
    stored id (unique per channel) must name the chat, in the same form as the customers' own messages."""
    creds = {"bot_token": telegram_api.token}
    first = tg.send(creds, Outbound("message", "555", "Hi Ann"), connector_config)
    second = tg.send(creds, Outbound("message", "777", "Hi Bo"), connector_config)
    assert first.ok and second.ok and first.external_id != second.external_id
    assert (first.external_id, second.external_id) == ("tg:555:1000", "tg:777:1000")
    # The customers' messages are keyed the same way (a chat's messages share one sequence, both ways).
    [inbound] = tg.parse(tg_update(1, "hi", chat_id=555, message_id=999))
    assert inbound.external_id == "tg:555:999"


def test_send_message(telegram_api, connector_config):
    token = telegram_api.token
    result = tg.send({"bot_token": token}, Outbound("message", "555", "Hi there"), connector_config)
    assert result.status == "sent" and result.external_id == "tg:555:1000"
    req = telegram_api.last
    assert (req.method, req.path) == ("POST", f"/bot{token}/sendMessage")
    assert req.json == {"chat_id": 555, "text": "Hi there"}


def test_send_inline_and_reply_keyboards(telegram_api, connector_config):
    creds = {"bot_token": telegram_api.token}
    tg.send(creds, Outbound("message", "555", "Pick", ["Yes", "No"]), connector_config)
    assert telegram_api.last.json["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "Yes"}], [{"text": "No", "callback_data": "No"}]]}
    tg.send(creds, Outbound("message", "555", "Pick", ["Yes"], {"keyboard": "reply"}), connector_config)
    assert telegram_api.last.json["reply_markup"] == {"keyboard": [[{"text": "Yes"}]], "one_time_keyboard": True,
                                                      "resize_keyboard": True}


def test_labels_too_long_for_callback_data_use_a_reply_keyboard(telegram_api, connector_config):
    label = "Записаться на маникюр на завтра утром"  # > 64 bytes in UTF-8
    tg.send({"bot_token": telegram_api.token}, Outbound("message", "555", "Pick", [label]), connector_config)
    assert telegram_api.last.json["reply_markup"]["keyboard"] == [[{"text": label}]]


def test_reply_to_callback_answers_it_first(telegram_api, connector_config):
    out = Outbound("message", "555", "Booked", meta={"callback_query_id": "q1"})
    assert tg.send({"bot_token": telegram_api.token}, out, connector_config).status == "sent"
    assert [r.path.rsplit("/", 1)[1] for r in telegram_api.requests] == ["answerCallbackQuery", "sendMessage"]


def test_long_text_is_cut_to_4096(telegram_api, connector_config):
    tg.send({"bot_token": telegram_api.token}, Outbound("message", "555", "x" * 5000), connector_config)
    assert len(telegram_api.last.json["text"]) == 4096


def test_429_retry_after_is_honoured(telegram_api, connector_config, monkeypatch):
    telegram_api.fail(status=429, retry_after=1)
    slept = recorded_sleeps(monkeypatch)
    result = tg.send({"bot_token": telegram_api.token}, Outbound("message", "555", "hi"), connector_config)
    assert result.status == "sent"
    assert slept == [1.0]  # Telegram's parameters.retry_after, not the config's backoff
    assert len(telegram_api.sent) == 2


def test_long_retry_after_is_handed_back_to_the_job(telegram_api, connector_config):
    telegram_api.fail(status=429, retry_after=30)
    result = tg.send({"bot_token": telegram_api.token}, Outbound("message", "555", "hi"), connector_config)
    assert (result.status, result.retryable, result.retry_after, result.error_code) == ("failed", True, 30, 429)
    assert len(telegram_api.sent) == 1


def test_unknown_token_is_token_invalid_and_masked(telegram_api, connector_config):
    token = "999:BadTokenBadTokenBadToken"
    result = tg.send({"bot_token": token}, Outbound("message", "555", "hi"), connector_config)
    assert result.status == "failed" and result.token_invalid and not result.retryable
    assert result.error_code == 401 and token not in (result.error or "")


def test_blocked_by_user_is_final(telegram_api, connector_config):
    telegram_api.fail(status=403)
    result = tg.send({"bot_token": telegram_api.token}, Outbound("message", "555", "hi"), connector_config)
    assert (result.status, result.retryable, result.token_invalid) == ("failed", False, False)
    assert "blocked" in result.error


# --- webhook management --------------------------------------------------------------------------------

def test_get_me_and_webhook_lifecycle(telegram_api, connector_config):
    token = telegram_api.token
    me = telegram.get_me(token, connector_config)
    assert me["username"] == "fake_shop_bot" and me["is_bot"]
    secret = telegram.generate_secret_token()
    assert telegram.set_webhook(token, "https://bots.example/webhooks/telegram/7", secret, connector_config)
    hook = telegram_api.webhooks[token]
    assert hook["secret_token"] == secret and hook["url"].endswith("/telegram/7")
    assert hook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    info = telegram.get_webhook_info(token, connector_config)
    assert info["url"] == "https://bots.example/webhooks/telegram/7"
    assert telegram.delete_webhook(token, connector_config)
    assert telegram.get_webhook_info(token, connector_config)["url"] == ""


def test_secret_token_rules():
    for _ in range(20):
        secret = telegram.generate_secret_token()
        assert 1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)


@pytest.mark.parametrize("secret", ["", "has space", "a" * 257, "semi;colon"])
def test_set_webhook_rejects_bad_secret(secret, connector_config):
    with pytest.raises(ValueError):
        telegram.set_webhook("1:x", "https://x", secret, connector_config)


def test_errors_never_contain_the_token(telegram_api, connector_config):
    token = "424242:SuperSecretBotTokenValue_xyz"
    with pytest.raises(telegram.TelegramError) as info:
        telegram.get_me(token, connector_config)
    assert info.value.token_invalid and token not in str(info.value)
    # transport failure: the URL (with the token in its path) ends up in requests' exception text
    from dataclasses import replace

    dead = replace(connector_config, telegram_api_url="http://127.0.0.1:9", max_attempts=2)
    result = tg.send({"bot_token": token}, Outbound("message", "555", "hi"), dead)
    assert result.status == "failed" and result.retryable
    assert token not in result.error and "SuperSecret" not in result.error
    with pytest.raises(telegram.TelegramError) as info:
        telegram.get_me(token, dead)
    assert "SuperSecret" not in str(info.value)


def test_shared_contact_and_photo():
    update = {"update_id": 7, "message": {
        "message_id": 3, "date": 1, "from": {"id": 9, "is_bot": False, "first_name": "Bo"},
        "chat": {"id": 9, "type": "private"},
        "contact": {"phone_number": "+380501234567", "first_name": "Bo", "user_id": 9}}}
    [event] = tg.parse(json.dumps(update).encode())
    assert event.text == "+380501234567" and event.meta["contact"]["user_id"] == 9
    update["message"].pop("contact")
    update["message"].update({"photo": [{"file_id": "small"}, {"file_id": "big", "file_size": 9}], "caption": "this"})
    [event] = tg.parse(json.dumps(update).encode())
    assert event.text == "this"
    assert event.media == [{"kind": "image", "type": "photo", "id": "big", "caption": "this", "size": 9}]


def test_messages_from_bots_are_ignored():
    update = {"update_id": 8, "message": {"message_id": 1, "date": 1, "text": "beep",
                                          "from": {"id": 5, "is_bot": True, "first_name": "B"},
                                          "chat": {"id": -5, "type": "group"}}}
    assert tg.parse(json.dumps(update).encode()) == []
