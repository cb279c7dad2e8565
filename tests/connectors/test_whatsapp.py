import json
from datetime import UTC, datetime, timedelta

import pytest

from connectors.channels.base import within_window
from connectors.channels.events import Outbound
from connectors.channels.registry import get_connector
from connectors.channels.whatsapp import is_status_upgrade, status_rank
from tests.fakes.meta_payloads import (
    encode,
    wa_change,
    wa_contact,
    wa_entry,
    wa_status,
    wa_status_body,
    wa_text,
    wa_text_body,
    whatsapp_payload,
)

PNID = "106540352242922"
TOKEN = "EAAG-test-token-0123456789"
wa = get_connector("whatsapp")


def creds():
    return {"access_token": TOKEN, "phone_number_id": PNID}


# --- parsing -------------------------------------------------------------------------------------------

def test_parse_text_message_with_profile_name():
    [event] = wa.parse(wa_text_body(PNID, "wamid.A", "Hola, ¿precio?", name="María"))
    assert (event.channel_type, event.kind, event.account_id) == ("whatsapp", "message", PNID)
    assert (event.external_id, event.user_id, event.text) == ("wamid.A", "16505551234", "Hola, ¿precio?")
    assert event.meta["name"] == "María" and event.meta["wa_id"] == "16505551234"
    assert isinstance(event.timestamp, float)


def test_batch_of_entries_changes_messages_and_statuses():
    raw = encode(whatsapp_payload(
        wa_entry("WABA1", [
            wa_change(PNID, messages=[wa_text("wamid.1", "one"), wa_text("wamid.2", "two")]),
            wa_change("PNID2", messages=[wa_text("wamid.3", "three", wa_id="447700900000")],
                      statuses=[wa_status("wamid.out", "delivered")]),
        ]),
        wa_entry("WABA2", [wa_change("PNID3", messages=[wa_text("wamid.4", "four")])]),
    ))
    events = wa.parse(raw)
    assert [e.external_id for e in events] == ["wamid.1", "wamid.2", "wamid.3", "status:wamid.out:delivered",
                                               "wamid.4"]
    assert [e.account_id for e in events] == [PNID, PNID, "PNID2", "PNID2", "PNID3"]


def test_interactive_button_media_and_ignored_types():
    messages = [
        {"from": "1", "id": "w.btn", "timestamp": "1", "type": "interactive",
         "interactive": {"type": "button_reply", "button_reply": {"id": "b0", "title": "Book now"}}},
        {"from": "1", "id": "w.list", "timestamp": "1", "type": "interactive",
         "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Manicure"}}},
        {"from": "1", "id": "w.tbtn", "timestamp": "1", "type": "button",
         "button": {"text": "Stop", "payload": "STOP"}},
        {"from": "1", "id": "w.img", "timestamp": "1", "type": "image",
         "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "this one"}},
        {"from": "1", "id": "w.react", "timestamp": "1", "type": "reaction",
         "reaction": {"message_id": "w.btn", "emoji": "👍"}},
    ]
    btn, lst, tbtn, img = wa.parse(encode(whatsapp_payload(wa_entry("W", [wa_change(PNID, messages=messages)]))))
    assert (btn.text, btn.meta["reply_id"]) == ("Book now", "b0")
    assert lst.text == "Manicure"
    assert (tbtn.text, tbtn.meta["button_payload"]) == ("Stop", "STOP")
    assert img.text == "this one"
    assert img.media == [{"kind": "image", "type": "image", "id": "MEDIA1", "mime_type": "image/jpeg",
                          "caption": "this one"}]


def test_an_edit_updates_the_original_and_a_deleted_message_is_not_a_message():
    """``type=edit`` names the message it changes: an ``edit`` event (updated in place, not answered);
    ``type=revoke`` (the customer deleted a message) is not the customer talking to us."""
    messages = [
        {"from": "1", "id": "wamid.EDIT", "timestamp": "1", "type": "edit",
         "edit": {"original_message_id": "wamid.ORIG",
                  "message": {"type": "image", "image": {"id": "M1", "caption": "Updated caption"}}}},
        {"from": "1", "id": "wamid.EDIT2", "timestamp": "1", "type": "edit",
         "edit": {"original_message_id": "wamid.ORIG2", "message": {"type": "text", "text": {"body": "fixed"}}}},
        {"from": "1", "id": "wamid.DEL", "timestamp": "1", "type": "revoke",
         "revoke": {"original_message_id": "wamid.ORIG"}},
        {"from": "1", "id": "wamid.BAD", "timestamp": "1", "type": "edit", "edit": {"message": {}}},
    ]
    image, text = wa.parse(encode(whatsapp_payload(wa_entry("W", [wa_change(PNID, messages=messages)]))))
    assert (image.kind, image.external_id, image.meta["edit_of"], image.text) == (
        "edit", "wamid.EDIT", "wamid.ORIG", "Updated caption")
    assert (text.kind, text.meta["edit_of"], text.text) == ("edit", "wamid.ORIG2", "fixed")


def test_an_order_carries_its_text_and_items():
    order = {"catalog_id": "C1", "text": "for Friday", "product_items": [{"product_retailer_id": "p1"}]}
    msg = {"from": "1", "id": "wamid.O", "timestamp": "1", "type": "order", "order": order}
    [event] = wa.parse(encode(whatsapp_payload(wa_entry("W", [wa_change(PNID, messages=[msg])]))))
    assert event.text == "for Friday" and event.meta["order"] == order


def test_username_only_user_is_answered_by_bsuid(graph_api, connector_config):
    """2026 usernames: no wa_id and no ``from``, only ``from_user_id`` (the BSUID) and a username."""
    bsuid = "CO.1047385771169864"
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PNID},
             "contacts": [{"profile": {"name": "Julian", "username": "Julianzlc"}, "user_id": bsuid}],
             "messages": [{"from_user_id": bsuid, "id": "wamid.U", "timestamp": "1", "type": "text",
                           "text": {"body": "Hello"}}]}
    raw = encode(whatsapp_payload(wa_entry("W", [{"field": "messages", "value": value}])))
    [event] = wa.parse(raw)
    assert (event.user_id, event.meta["username"], event.meta["wa_id"]) == (bsuid, "Julianzlc", None)
    assert wa.send(creds(), Outbound("message", event.user_id, "Hi Julian"), connector_config).ok
    assert graph_api.last.json["recipient"] == bsuid and "to" not in graph_api.last.json


def test_bsuid_user_without_phone_number():
    bsuid = "US.13491208655302741918"
    change = wa_change(PNID, messages=[wa_text("wamid.B", "hi", wa_id=None, user_id=bsuid)],
                       contacts=[wa_contact("Sam", wa_id=None, user_id=bsuid)])
    [event] = wa.parse(encode(whatsapp_payload(wa_entry("W", [change]))))
    assert event.user_id == bsuid
    assert event.meta["bsuid"] == bsuid and event.meta["wa_id"] is None and event.meta["name"] == "Sam"


def test_bsuid_alongside_phone_keeps_phone_as_user_id():
    bsuid = "US.1"
    change = wa_change(PNID, messages=[wa_text("wamid.C", "hi", user_id=bsuid)],
                       contacts=[wa_contact("Sam", user_id=bsuid)])
    [event] = wa.parse(encode(whatsapp_payload(wa_entry("W", [change]))))
    assert event.user_id == "16505551234" and event.meta["bsuid"] == bsuid


def test_status_events():
    errors = [{"code": 131047, "title": "Re-engagement message"}]
    [event] = wa.parse(wa_status_body(PNID, "wamid.OUT", "failed", errors=errors))
    assert event.kind == "status" and event.external_id == "status:wamid.OUT:failed"
    assert event.meta == {"status": "failed", "wamid": "wamid.OUT", "errors": errors}
    assert event.user_id == "16505551234"


# --- sending -------------------------------------------------------------------------------------------

def test_send_text(graph_api, connector_config):
    result = wa.send(creds(), Outbound("message", "16505551234", "Hello", idempotency_key="k"), connector_config)
    assert result.status == "sent" and result.external_id.startswith("wamid.FAKE")
    req = graph_api.last
    assert (req.method, req.path) == ("POST", f"/v21.0/{PNID}/messages")
    assert req.header("Authorization") == f"Bearer {TOKEN}"
    assert req.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                        "type": "text", "text": {"preview_url": False, "body": "Hello"},
                        "biz_opaque_callback_data": "k"}  # echoed in the message's statuses


def test_a_status_carries_the_callback_data_of_the_message_it_is_about():
    body = wa_status_body(PNID, "wamid.OUT", "delivered")
    payload = json.loads(body)
    payload["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = "e12:0"
    [event] = wa.parse(json.dumps(payload).encode())
    assert event.meta["callback_data"] == "e12:0"


def test_send_up_to_three_buttons_as_reply_buttons(graph_api, connector_config):
    wa.send(creds(), Outbound("message", "16505551234", "Pick", ["Yes", "No"], {"reply_to": "wamid.IN"}),
            connector_config)
    body = graph_api.last.json
    assert body["type"] == "interactive" and body["context"] == {"message_id": "wamid.IN"}
    assert body["interactive"]["type"] == "button"
    assert body["interactive"]["body"] == {"text": "Pick"}
    assert body["interactive"]["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": "Yes", "title": "Yes"}},
        {"type": "reply", "reply": {"id": "No", "title": "No"}},
    ]


def test_long_button_label_round_trips_to_the_full_label(graph_api, connector_config):
    label = "Book a manicure for tomorrow"
    wa.send(creds(), Outbound("message", "16505551234", "Pick", [label, label]), connector_config)
    first, second = (b["reply"] for b in graph_api.last.json["interactive"]["action"]["buttons"])
    assert len(first["title"]) == 20 and first["id"] == label and second["id"] != label
    tap = {"from": "1", "id": "w.tap", "timestamp": "1", "type": "interactive",
           "interactive": {"type": "button_reply", "button_reply": first}}
    [event] = wa.parse(encode(whatsapp_payload(wa_entry("W", [wa_change(PNID, messages=[tap])]))))
    assert event.text == label


def test_send_more_buttons_as_a_list(graph_api, connector_config):
    wa.send(creds(), Outbound("message", "16505551234", "Pick", ["A", "B", "C", "D"]), connector_config)
    interactive = graph_api.last.json["interactive"]
    assert interactive["type"] == "list"
    assert [r["title"] for r in interactive["action"]["sections"][0]["rows"]] == ["A", "B", "C", "D"]


def test_send_template(graph_api, connector_config):
    meta = {"name": "follow_up", "language": "es", "components": [{"type": "body", "parameters": []}]}
    result = wa.send(creds(), Outbound("template", "16505551234", meta=meta), connector_config)
    assert result.status == "sent"
    assert graph_api.last.json["template"] == {"name": "follow_up", "language": {"code": "es"},
                                               "components": [{"type": "body", "parameters": []}]}
    assert wa.send(creds(), Outbound("template", "16505551234"), connector_config).status == "skipped"


def test_send_to_bsuid_uses_recipient_field(graph_api, connector_config):
    wa.send(creds(), Outbound("message", "US.13491208655302741918", "hi"), connector_config)
    body = graph_api.last.json
    assert body["recipient"] == "US.13491208655302741918" and "to" not in body


def test_outside_window_131047_is_final_and_keeps_code(graph_api, connector_config):
    graph_api.fail(status=400, code=131047, message="Re-engagement message")
    result = wa.send(creds(), Outbound("message", "16505551234", "hi"), connector_config)
    assert (result.status, result.error_code, result.retryable) == ("failed", 131047, False)
    assert len(graph_api.requests) == 1


@pytest.mark.parametrize("code", [4, 80007, 130429, 131056])
def test_throttling_codes_are_retryable(graph_api, connector_config, code):
    graph_api.fail(status=400, code=code)
    result = wa.send(creds(), Outbound("message", "16505551234", "hi"), connector_config)
    assert result.status == "failed" and result.retryable and result.error_code == code


def test_comment_kinds_are_skipped(graph_api, connector_config):
    assert wa.send(creds(), Outbound("comment_reply", "1", "hi"), connector_config).status == "skipped"
    assert graph_api.requests == []


# --- pure helpers --------------------------------------------------------------------------------------

def test_customer_window():
    now = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    assert within_window(now - timedelta(hours=23, minutes=59), now, 24)
    assert not within_window(now - timedelta(hours=24), now, 24)
    assert not within_window(None, now, 24)
    assert within_window(datetime(2026, 1, 2, 11, 0), now, 24)  # naive = UTC
    assert within_window(now - timedelta(days=6), now, 24 * 7)


def test_status_ordering_never_goes_backwards():
    assert status_rank("sent") < status_rank("delivered") < status_rank("read")
    assert is_status_upgrade(None, "sent")
    assert is_status_upgrade("sent", "read")  # delivered may be skipped
    assert not is_status_upgrade("read", "delivered")
    assert not is_status_upgrade("delivered", "delivered")
    assert is_status_upgrade("delivered", "failed")
    assert not is_status_upgrade("read", "failed")
    assert not is_status_upgrade("failed", "delivered")
    assert not is_status_upgrade("sent", "bogus")


def test_mark_read_with_typing_indicator(graph_api, connector_config):
    from connectors.channels.whatsapp import mark_read

    assert mark_read(creds(), "wamid.IN", connector_config)
    assert graph_api.last.json == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN",
                                   "typing_indicator": {"type": "text"}}
    graph_api.fail(status=500, times=None)
    assert not mark_read(creds(), "wamid.IN", connector_config)
    assert len(graph_api.messages) == 2  # one attempt only


def test_one_malformed_message_does_not_lose_the_rest_of_the_batch():
    broken = {"from": "1", "id": "w.bad", "timestamp": "1", "type": "text", "text": "not an object"}
    change = wa_change(PNID, messages=[wa_text("wamid.ok1", "a"), broken, wa_text("wamid.ok2", "b")])
    events = wa.parse(encode(whatsapp_payload(wa_entry("W", [change]))))
    assert [e.external_id for e in events] == ["wamid.ok1", "wamid.ok2"]
