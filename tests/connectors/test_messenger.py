"""Facebook Messenger (a Page's conversations): Page webhooks in, the Send API out, against the Graph fake."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors.channels import meta
from connectors.channels.events import Outbound
from connectors.channels.meta import parse_meta_payload, verify_request
from connectors.channels.registry import get_connector, meta_connector
from tests.fakes.meta_payloads import (
    encode,
    fb_entry,
    fb_message,
    fb_postback,
    fb_receipt,
    fb_text_body,
    ig_dm_body,
    page_payload,
    signed_headers,
)

PAGE = "100000000000001"
TOKEN = "EAAG-page-token-0123456789"
fb = get_connector("messenger")


def creds(**extra):
    return {"access_token": TOKEN, **extra}


# --- what the channel declares ------------------------------------------------------------------------

def test_messenger_is_a_registered_meta_channel_with_instagrams_reply_rule():
    assert meta_connector("page") is fb
    assert (fb.type, fb.label, fb.webhook_path, fb.max_text_length) == ("messenger", "Messenger", "/webhooks/meta",
                                                                        2000)
    assert fb.needs.token and fb.needs.external_id and "Page id" in fb.needs.external_id
    assert fb.reply_window is get_connector("instagram").reply_window is meta.HUMAN_AGENT_WINDOW
    assert fb.message_kind == "dm" and fb.reply_window_hours == 24


# --- parsing ------------------------------------------------------------------------------------------

def test_parse_text_message():
    [event] = fb.parse(fb_text_body(PAGE, "PSID1", "m_1", "Сколько стоит?"))
    assert (event.channel_type, event.kind, event.account_id) == ("messenger", "dm", PAGE)
    assert (event.external_id, event.user_id, event.text) == ("m_1", "PSID1", "Сколько стоит?")
    assert event.timestamp is not None and event.timestamp < 1e11  # ms converted to seconds


def test_the_shared_meta_endpoint_dispatches_page_bodies_to_messenger():
    [event] = parse_meta_payload(fb_text_body(PAGE, "PSID1", "m_2", "hi"))
    assert event.channel_type == "messenger"
    assert get_connector("instagram").parse(fb_text_body(PAGE, "PSID1", "m_2", "hi")) == []
    assert fb.parse(ig_dm_body("17841400000000001", "IGSID", "mid.1", "hi")) == []


def test_the_signature_is_the_meta_app_secrets_over_the_raw_bytes():
    raw = fb_text_body(PAGE, "PSID1", "m_3", "äöå")
    assert verify_request(signed_headers(raw, "app-secret"), raw, ["app-secret"])
    assert fb.verify(signed_headers(raw, "app-secret"), raw, "app-secret")
    assert not fb.verify(signed_headers(raw, "other"), raw, "app-secret")


def test_echoes_receipts_reactions_edits_and_standby_are_not_answered():
    items = [
        fb_message("PSID1", "m_echo", "our reply", page_id=PAGE, is_echo=True),
        {**fb_message("PSID1", "m_echo2", "echo, user-to-page orientation"),
         "message": {"mid": "m_echo2", "text": "x", "is_echo": True, "app_id": 1}},
        {"sender": {"id": PAGE}, "recipient": {"id": "PSID1"}, "timestamp": 1, "message": {"mid": "m", "text": "x"}},
        fb_receipt("PSID1", "delivery"),
        fb_receipt("PSID1", "read"),
        {"sender": {"id": "PSID1"}, "recipient": {"id": PAGE}, "timestamp": 1,
         "reaction": {"mid": "m_1", "action": "react", "emoji": "\U0001f622", "reaction": "sad"}},
        {"sender": {"id": "PSID1"}, "recipient": {"id": PAGE}, "timestamp": 1,
         "message_edit": {"mid": "m_1", "text": "edited", "num_edit": "1"}},
        fb_message("PSID1", "m_real", "real one"),
    ]
    entry = fb_entry(PAGE, items)
    entry["standby"] = [fb_message("PSID2", "m_standby", "another app owns this thread")]
    events = fb.parse(encode(page_payload(entry)))
    assert [e.external_id for e in events] == ["m_real"]


def test_quick_replies_and_postbacks_are_answered_like_instagrams():
    label = "Book a manicure for tomorrow"
    quick = fb_message("PSID1", "m_qr", "Book a manicure f…", quick_reply=label)
    titled = fb_postback("PSID1", "GET_STARTED", title="Get started", mid="m_pb")
    bare = fb_postback("PSID1", "MY_PAYLOAD", timestamp=1480279487147)
    events = fb.parse(encode(page_payload(fb_entry(PAGE, [quick, titled, bare]))))
    assert [(e.external_id, e.text) for e in events] == [
        ("m_qr", label), ("m_pb", "Get started"), ("postback:PSID1:1480279487147", "MY_PAYLOAD")]
    assert events[1].meta["postback_payload"] == "GET_STARTED"


def test_batches_with_several_pages_and_numeric_ids_keep_everything_in_order():
    raw = encode(page_payload(
        fb_entry(PAGE, [fb_message("U1", "m_a", "one"), fb_message("U2", "m_b", "two")]),
        {"id": 12345654332, "time": 1, "messaging": [
            {"sender": {"id": 987654321432}, "recipient": {"id": 12345654332}, "timestamp": 1458692752478,
             "message": {"mid": "m_c", "text": "three"}}]},
        {"time": 1, "messaging": [fb_message("U9", "m_lost", "entry without a page id")]},
    ))
    events = fb.parse(raw)
    assert [(e.account_id, e.user_id, e.external_id) for e in events] == [
        (PAGE, "U1", "m_a"), (PAGE, "U2", "m_b"), ("12345654332", "987654321432", "m_c")]


def test_attachments_without_text_are_events_with_media():
    image = {"type": "image", "payload": {"url": "https://cdn.example/1.png"}}
    fallback = {"type": "fallback", "payload": "BLOB", "title": "Legacy", "url": "https://www.messenger.com/"}
    [event] = fb.parse(encode(page_payload(fb_entry(PAGE, [
        fb_message("PSID1", "m_img", attachments=[image, image, fallback])]))))
    assert event.text == "" and [m["type"] for m in event.media] == ["image", "image", "fallback"]


# --- sending ------------------------------------------------------------------------------------------

def test_send_goes_to_the_send_api_on_the_facebook_host_as_a_response(graph_api, connector_config):
    config = replace(connector_config, instagram_graph_url="http://127.0.0.1:9")  # would fail if used
    result = fb.send(creds(), Outbound("message", "PSID1", "Hello", idempotency_key="k1"), config)
    assert result.status == "sent" and result.external_id.startswith("mid.FAKE")
    req = graph_api.last
    assert (req.method, req.path) == ("POST", "/v21.0/me/messages")
    assert req.header("Authorization") == f"Bearer {TOKEN}"
    assert req.json == {"recipient": {"id": "PSID1"}, "messaging_type": "RESPONSE", "message": {"text": "Hello"}}
    assert "access_token" not in req.query


def test_text_is_cut_to_2000_and_buttons_become_quick_replies(graph_api, connector_config):
    fb.send(creds(), Outbound("message", "PSID1", "x" * 2500, ["Yes", "A very long button label here"]),
            connector_config)
    message = graph_api.last.json["message"]
    assert len(message["text"]) == 2000 and message["text"].endswith("…")
    assert message["quick_replies"][0] == {"content_type": "text", "title": "Yes", "payload": "Yes"}
    assert len(message["quick_replies"][1]["title"]) <= 20


def test_a_persons_reply_outside_the_window_carries_instagrams_human_agent_tag(graph_api, connector_config):
    """The same rule and the same fields as Instagram: the shared window declares the tag."""
    human = Outbound("message", "PSID1", "Sorry for the wait, here is your order", meta={"human_agent": True})
    assert fb.send(creds(), human, connector_config).status == "sent"
    tagged = graph_api.last.json
    assert (tagged["messaging_type"], tagged["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    get_connector("instagram").send(creds(), human, connector_config)
    assert {k: graph_api.last.json[k] for k in ("messaging_type", "tag")} == {
        k: tagged[k] for k in ("messaging_type", "tag")}


def test_token_error_190_marks_token_invalid_and_never_leaks_it(graph_api, connector_config):
    graph_api.expire_token(TOKEN)
    result = fb.send(creds(), Outbound("message", "PSID1", "hi"), connector_config)
    assert result.status == "failed" and result.token_invalid and not result.retryable
    assert result.error_code == 190 and TOKEN not in (result.error or "")
    assert len(graph_api.requests) == 1


@pytest.mark.parametrize("status, retryable", [(429, True), (500, True), (400, False)])
def test_graph_errors_map_to_retry_or_fail(graph_api, connector_config, status, retryable):
    graph_api.fail(status=status, times=None)
    result = fb.send(creds(), Outbound("message", "PSID1", "hi"), replace(connector_config, max_attempts=1))
    assert result.status == "failed" and result.retryable is retryable


def test_unsupported_empty_and_tokenless_sends_make_no_request(graph_api, connector_config):
    assert fb.send(creds(), Outbound("private_reply", "c1", "hi"), connector_config).status == "skipped"
    assert fb.send(creds(), Outbound("template", "PSID1", "hi"), connector_config).status == "skipped"
    assert fb.send(creds(), Outbound("message", "PSID1", "  "), connector_config).status == "skipped"
    missing = fb.send({}, Outbound("message", "PSID1", "hi"), connector_config)
    assert missing.status == "failed" and missing.token_invalid
    assert fb.send(creds(), Outbound("message", "", "hi"), connector_config).status == "failed"
    assert graph_api.requests == []


def test_its_own_rate_window_per_page(graph_api, connector_config):
    """``messenger.send`` is declared by the channel (no entry in the shared table) and configurable."""
    cfg = replace(connector_config, rate_limits={"messenger.send": "1/minute"}, max_wait=0.0)
    assert fb.send({"access_token": "page-a"}, Outbound("message", "U", "hi"), cfg).status == "sent"
    assert fb.send({"access_token": "page-b"}, Outbound("message", "U", "hi"), cfg).status == "sent"
    limited = fb.send({"access_token": "page-a"}, Outbound("message", "U", "hi"), cfg)
    assert limited.retryable and limited.retry_after
    assert fb.send(creds(), Outbound("message", "U", "hi"), connector_config).status == "sent"  # the default
