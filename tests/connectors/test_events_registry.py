import dataclasses
import json

import pytest

from connectors.channels.base import Connector, reply_recipient
from connectors.channels.events import ConnectorConfig, InboundEvent, Outbound, SendResult
from connectors.channels.registry import UnknownConnectorError, connector_types, get_connector


def test_inbound_event_round_trips_through_json():
    event = InboundEvent("instagram", "1784", "dm", "mid.1", "IGSID", "hi", [{"type": "image", "url": "u"}],
                         {"username": "ann"}, 1700000000.5)
    restored = InboundEvent.from_dict(json.loads(json.dumps(event.to_dict())))
    assert restored == event


def test_inbound_to_dict_has_every_field_and_does_not_alias_the_event():
    event = InboundEvent("instagram", "1784", "comment", "c.1", "IGSID", "hi", [{"type": "image", "url": "u"}],
                         {"comment_id": "c.1", "referral": {"ref": "ad"}}, None)
    data = event.to_dict()
    assert data == dataclasses.asdict(event)
    data["media"][0]["url"] = "changed"
    data["meta"]["comment_id"] = "changed"
    assert event.media[0]["url"] == "u" and event.meta["comment_id"] == "c.1"


def test_from_dict_ignores_unknown_keys_and_fills_defaults():
    event = InboundEvent.from_dict({"channel_type": "telegram", "account_id": "7", "kind": "message",
                                    "external_id": "tg:1:2", "user_id": "1", "future_field": 1})
    assert event.text == "" and event.media == [] and event.meta == {} and event.timestamp is None


def test_outbound_round_trip_and_send_result_helpers():
    out = Outbound("message", "42", "hello", ["A", "B"], {"reply_to": "1"}, "key-1")
    assert Outbound.from_dict(out.to_dict()) == out
    assert SendResult.sent("x").ok and SendResult.sent("x").external_id == "x"
    assert SendResult.skipped("why").status == "skipped"


def test_registry_lists_every_channel_and_each_satisfies_the_protocol():
    assert connector_types() == ["instagram", "telegram", "webchat", "whatsapp"]
    for name in connector_types():
        connector = get_connector(name)
        assert isinstance(connector, Connector)
        assert connector.type == name
        assert connector.max_text_length > 0


def test_unknown_connector_type():
    with pytest.raises(UnknownConnectorError):
        get_connector("fax")


def test_reply_recipient_defaults_to_user_and_telegram_uses_chat():
    event = InboundEvent("telegram", "9", "message", "tg:-100:1", "42", meta={"chat_id": -100})
    assert reply_recipient(get_connector("telegram"), event) == "-100"
    dm = InboundEvent("instagram", "9", "dm", "mid", "IGSID")
    assert reply_recipient(get_connector("instagram"), dm) == "IGSID"


def test_config_from_mapping_reads_flask_style_keys():
    config = ConnectorConfig.from_mapping({"META_GRAPH_URL": "http://127.0.0.1:9/", "META_GRAPH_VERSION": "v22.0",
                                           "CONNECTOR_TIMEOUT": "3", "RATELIMIT_STORAGE_URI": "redis://x:6379"})
    assert config.meta_graph_url == "http://127.0.0.1:9"
    assert config.graph_version == "v22.0"
    assert config.timeout == 3.0
    assert config.ratelimit_storage == "redis://x:6379"
    assert config.telegram_api_url == "https://api.telegram.org"


def test_reply_windows_are_declared_by_the_meta_channels_only():
    windows = {name: getattr(get_connector(name), "reply_window_hours", None) for name in connector_types()}
    assert windows == {"instagram": 24, "whatsapp": 24, "telegram": None, "webchat": None}
