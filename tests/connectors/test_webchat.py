import json

import pytest

from connectors.channels.base import PayloadError
from connectors.channels.events import ConnectorConfig, Outbound
from connectors.channels.registry import get_connector

wc = get_connector("webchat")


def test_parse_widget_message():
    raw = json.dumps({"visitor_id": "v_abc123", "text": " Hi! ", "client_message_id": "m-1",
                      "page_url": "https://shop.example/"}).encode()
    [event] = wc.parse(raw, account_id="42")
    assert (event.channel_type, event.kind, event.account_id) == ("webchat", "webchat", "42")
    assert (event.external_id, event.user_id, event.text) == ("v_abc123:m-1", "v_abc123", "Hi!")
    assert event.meta == {"page_url": "https://shop.example/"}


@pytest.mark.parametrize("body", [
    {"visitor_id": "v1", "text": "", "client_message_id": "m"},
    {"visitor_id": "v 1", "text": "x", "client_message_id": "m"},
    {"visitor_id": "v1", "text": "x"},
    {"visitor_id": "v1", "text": "x" * 2001, "client_message_id": "m"},
    {"visitor_id": "v1", "text": 5, "client_message_id": "m"},
])
def test_invalid_widget_payloads(body):
    with pytest.raises(PayloadError):
        wc.parse(json.dumps(body).encode())


def test_send_makes_no_http_call_and_claims_no_external_id():
    # The URLs point nowhere: any HTTP attempt would fail the send.
    config = ConnectorConfig(meta_graph_url="http://127.0.0.1:9", telegram_api_url="http://127.0.0.1:9")
    result = wc.send({}, Outbound("message", "v_abc123", "Hello", idempotency_key="out-7"), config)
    # Inbound web chat ids are visitor-chosen, so a reply never takes an external id they could collide with.
    assert result.status == "sent" and result.external_id is None
    assert wc.send({}, Outbound("private_reply", "v", "x"), config).status == "skipped"


def test_verify_public_key_header():
    assert wc.verify({"x-webchat-key": "pk_1"}, b"", "pk_1")
    assert not wc.verify({"X-Webchat-Key": "pk_2"}, b"", "pk_1")
    assert not wc.verify({}, b"", "")
