import pytest

from connectors.channels.events import Outbound
from connectors.channels.registry import get_connector
from tests.fakes.meta_payloads import (
    encode,
    ig_changes_entry,
    ig_comment_body,
    ig_comment_change,
    ig_dm,
    ig_dm_body,
    ig_dm_entry,
    instagram_payload,
)

ACCOUNT = "17841400000000001"
TOKEN = "IGQVJ-test-token-0123456789"
ig = get_connector("instagram")


def creds(**extra):
    return {"access_token": TOKEN, "account_id": ACCOUNT, **extra}


# --- parsing -------------------------------------------------------------------------------------------

def test_parse_dm():
    [event] = ig.parse(ig_dm_body(ACCOUNT, "IGSID1", "mid.1", "Сколько стоит?"))
    assert (event.channel_type, event.kind, event.account_id) == ("instagram", "dm", ACCOUNT)
    assert (event.external_id, event.user_id, event.text) == ("mid.1", "IGSID1", "Сколько стоит?")
    assert event.timestamp is not None and event.timestamp < 1e11  # ms converted to seconds


def test_batch_with_several_entries_and_messages_keeps_everything_in_order():
    raw = encode(instagram_payload(
        ig_dm_entry(ACCOUNT, [ig_dm("U1", "mid.1", "one"), ig_dm("U2", "mid.2", "two")]),
        ig_dm_entry("17841400000000002", [ig_dm("U3", "mid.3", "three")]),
        ig_changes_entry(ACCOUNT, [ig_comment_change("c1", "nice", user_id="U4"),
                                   ig_comment_change("c2", "price?", user_id="U5")]),
    ))
    events = ig.parse(raw)
    assert [e.external_id for e in events] == ["mid.1", "mid.2", "mid.3", "c1", "c2"]
    assert [e.account_id for e in events] == [ACCOUNT, ACCOUNT, "17841400000000002", ACCOUNT, ACCOUNT]


def test_echoes_reads_reactions_and_deleted_messages_are_dropped():
    deleted = ig_dm("U1", "mid.del")
    deleted["message"]["is_deleted"] = True
    items = [
        ig_dm("U1", "mid.echo", "our reply", is_echo=True),
        {"sender": {"id": ACCOUNT}, "recipient": {"id": "U1"}, "timestamp": 1, "message": {"mid": "m", "text": "x"}},
        {"sender": {"id": "U1"}, "recipient": {"id": ACCOUNT}, "timestamp": 1, "read": {"mid": "mid.1"}},
        {"sender": {"id": "U1"}, "recipient": {"id": ACCOUNT}, "timestamp": 1,
         "reaction": {"mid": "mid.1", "action": "react", "reaction": "love", "emoji": "❤"}},
        deleted,
        ig_dm("U1", "mid.real", "real one"),
    ]
    events = ig.parse(encode(instagram_payload(ig_dm_entry(ACCOUNT, items))))
    assert [e.external_id for e in events] == ["mid.real"]


def test_attachments_quick_reply_and_postback():
    entry = ig_dm_entry(ACCOUNT, [ig_dm("U1", "mid.qr", "Yes", quick_reply="YES"),
                                  ig_dm("U2", "mid.img", attachments=[{"type": "image",
                                                                        "payload": {"url": "https://cdn/x"}}])])
    entry["messaging"].append({"sender": {"id": "U3"}, "recipient": {"id": ACCOUNT}, "timestamp": 2,
                               "postback": {"mid": "mid.pb", "title": "Book", "payload": "BOOK"}})
    qr, img, postback = ig.parse(encode(instagram_payload(entry)))
    assert qr.meta["quick_reply_payload"] == "YES" and qr.text == "Yes"
    assert postback.text == "Book" and postback.meta["postback_payload"] == "BOOK"
    assert img.media == [{"kind": "image", "type": "image", "url": "https://cdn/x"}]


def test_standby_is_left_to_the_app_that_owns_the_thread():
    """Handover protocol: `standby[]` carries messages of a thread another app (a human inbox, another
    bot) controls; answering them would talk over it."""
    entry = ig_dm_entry(ACCOUNT, [ig_dm("U1", "mid.mine", "hello")])
    entry["standby"] = [ig_dm("U2", "mid.standby", "hello", recipient=ACCOUNT)]
    assert [e.external_id for e in ig.parse(encode(instagram_payload(entry)))] == ["mid.mine"]
    del entry["messaging"]
    assert ig.parse(encode(instagram_payload(entry))) == []


@pytest.mark.parametrize("use_comment_id_key", [False, True])
def test_parse_comment_with_id_or_comment_id(use_comment_id_key):
    raw = ig_comment_body(ACCOUNT, "179000001", "How much?", "IGSID9", username="ann", parent_id="178999",
                          use_comment_id_key=use_comment_id_key)
    [event] = ig.parse(raw)
    assert (event.kind, event.external_id, event.user_id, event.text) == ("comment", "179000001", "IGSID9",
                                                                          "How much?")
    assert event.meta["comment_id"] == "179000001"
    assert event.meta["media_id"] == "18000000000000001"
    assert event.meta["parent_id"] == "178999"
    assert event.meta["username"] == "ann"


def test_own_comment_replies_are_ignored_and_live_comments_parsed():
    raw = encode(instagram_payload(ig_changes_entry(ACCOUNT, [
        ig_comment_change("c-own", "Thanks!", user_id=ACCOUNT, username="fake_shop"),
        ig_comment_change("c-live", "hello", user_id="U1", field="live_comments"),
        {"field": "mentions", "value": {"media_id": "1", "comment_id": "2"}},
    ])))
    [event] = ig.parse(raw)
    assert event.external_id == "c-live" and event.meta["field"] == "live_comments"


def test_parse_ignores_other_meta_objects():
    assert ig.parse(b'{"object": "whatsapp_business_account", "entry": []}') == []


# --- sending -------------------------------------------------------------------------------------------

def test_send_dm_uses_bearer_token_and_documented_body(graph_api, connector_config):
    result = ig.send(creds(), Outbound("message", "IGSID1", "Hello", idempotency_key="k1"), connector_config)
    assert result.status == "sent" and result.external_id.startswith("mid.FAKE")
    req = graph_api.last
    assert (req.method, req.path) == ("POST", "/v21.0/me/messages")
    assert req.header("Authorization") == f"Bearer {TOKEN}"
    assert req.json == {"recipient": {"id": "IGSID1"}, "message": {"text": "Hello"}}
    assert "access_token" not in req.query


def test_send_dm_with_buttons_as_quick_replies_and_truncation(graph_api, connector_config):
    long = "x" * 1500
    ig.send(creds(), Outbound("message", "IGSID1", long, ["Yes", "A very long button label here"]), connector_config)
    message = graph_api.last.json["message"]
    assert len(message["text"]) == 1000
    assert message["quick_replies"][0] == {"content_type": "text", "title": "Yes", "payload": "Yes"}
    assert len(message["quick_replies"][1]["title"]) <= 20


def test_public_comment_reply(graph_api, connector_config):
    result = ig.send(creds(), Outbound("comment_reply", "179000001", "Sent you a DM!"), connector_config)
    assert result.status == "sent" and result.external_id
    req = graph_api.last
    assert req.path == "/v21.0/179000001/replies"
    assert req.json == {"message": "Sent you a DM!"}
    assert req.header("Authorization") == f"Bearer {TOKEN}"


def test_private_reply_once_per_comment(graph_api, connector_config):
    out = Outbound("private_reply", "179000001", "Here is the price list")
    first = ig.send(creds(), out, connector_config)
    assert first.status == "sent"
    assert graph_api.last.path == "/v21.0/me/messages"
    assert graph_api.last.json == {"recipient": {"comment_id": "179000001"},
                                   "message": {"text": "Here is the price list"}}
    second = ig.send(creds(), out, connector_config)
    assert second.status == "failed" and not second.retryable and second.error_code == 10900


def test_token_error_190_marks_token_invalid(graph_api, connector_config):
    graph_api.expire_token(TOKEN)
    result = ig.send(creds(), Outbound("message", "IGSID1", "hi"), connector_config)
    assert result.status == "failed" and result.token_invalid and not result.retryable
    assert result.error_code == 190
    assert TOKEN not in (result.error or "")
    assert len(graph_api.requests) == 1


def test_facebook_login_variant_uses_graph_facebook_host(graph_api, connector_config):
    from dataclasses import replace

    config = replace(connector_config, instagram_graph_url="http://127.0.0.1:9")  # would fail if used
    result = ig.send(creds(login="facebook"), Outbound("message", "IGSID1", "hi"), config)
    assert result.status == "sent"


def test_unsupported_and_empty_sends_are_skipped_without_http(graph_api, connector_config):
    assert ig.send(creds(), Outbound("template", "IGSID1", "hi"), connector_config).status == "skipped"
    assert ig.send(creds(), Outbound("message", "IGSID1", "  "), connector_config).status == "skipped"
    missing = ig.send({}, Outbound("message", "IGSID1", "hi"), connector_config)
    assert missing.status == "failed" and missing.token_invalid
    assert graph_api.requests == []


def test_long_quick_reply_round_trips_to_the_full_label(graph_api, connector_config):
    label = "Book a manicure for tomorrow"
    ig.send(creds(), Outbound("message", "IGSID1", "Pick", [label]), connector_config)
    quick = graph_api.last.json["message"]["quick_replies"][0]
    [event] = ig.parse(encode(instagram_payload(ig_dm_entry(ACCOUNT, [
        ig_dm("IGSID1", "mid.qr2", quick["title"], quick_reply=quick["payload"])]))))
    assert event.text == label


def test_rate_windows_are_per_account_even_without_account_id(graph_api, connector_config):
    from dataclasses import replace

    cfg = replace(connector_config, rate_limits={"instagram.send": "1/minute"}, max_wait=0.0)
    assert ig.send({"access_token": "token-a"}, Outbound("message", "U", "hi"), cfg).status == "sent"
    assert ig.send({"access_token": "token-b"}, Outbound("message", "U", "hi"), cfg).status == "sent"
    assert ig.send({"access_token": "token-a"}, Outbound("message", "U", "hi"), cfg).retryable
