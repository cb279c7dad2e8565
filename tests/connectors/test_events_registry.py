import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.channels import meta
from connectors.channels.base import BaseConnector, Connector, ReplyWindow, reply_recipient
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


def _declared_types() -> list[str]:
    """The type names the channel modules declare, read from their source (the registry is not told)."""
    found = []
    for path in (Path(__file__).resolve().parents[2] / "connectors/channels").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found += re.findall(r'^@register\nclass \w+\(.*?\):\n(?:    .*\n|\n)*?    type = "([a-z_]+)"', source, re.M)
    return sorted(found)


def test_registry_lists_every_channel_and_each_satisfies_the_protocol():
    assert connector_types() == _declared_types()
    assert {"instagram", "telegram", "webchat", "whatsapp"} <= set(connector_types())
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
    assert {name: windows[name] for name in ("instagram", "whatsapp", "telegram", "webchat")} == {
        "instagram": 24, "whatsapp": 24, "telegram": None, "webchat": None}
    assert all(get_connector(name).meta_object for name, hours in windows.items() if hours)


def test_each_channel_declares_what_the_platform_asks_of_it():
    declared = {c.type: (c.label, c.max_text_length, c.meta_object, c.needs.token, bool(c.needs.external_id),
                         c.message_kind, c.pushes_replies) for c in map(get_connector, connector_types())}
    assert {name: declared[name] for name in ("instagram", "telegram", "webchat", "whatsapp")} == {
        "instagram": ("Instagram", 1000, "instagram", True, True, "dm", True),
        "telegram": ("Telegram", 4096, None, True, False, "message", True),
        "webchat": ("Web chat", 4000, None, False, False, "webchat", False),
        "whatsapp": ("WhatsApp", 4096, "whatsapp_business_account", True, True, "message", True),
    }
    assert get_connector("instagram").reply_window is meta.HUMAN_AGENT_WINDOW
    meta_objects = [c.meta_object for c in map(get_connector, connector_types()) if c.meta_object]
    assert len(meta_objects) == len(set(meta_objects))  # one connector per Meta webhook object


def test_the_human_agent_window_frees_24_hours_then_a_persons_reply_for_7_days_where_enabled():
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    window, enabled = meta.HUMAN_AGENT_WINDOW, {"human_agent": True}
    assert window.decide(now - timedelta(hours=23), now) == "free"
    assert window.decide(now - timedelta(hours=25), now) == "closed"
    assert window.decide(now - timedelta(hours=25), now, enabled) == "tag"
    assert window.decide(now - timedelta(days=7), now, enabled) == "closed"
    assert window.decide(None, now, enabled) == "closed"
    templates = ReplyWindow(hours=24, template_setting="reengagement_template")
    assert templates.decide(now - timedelta(days=2), now, {"reengagement_template": {"name": "hi"}}) == "template"
    assert templates.decide(now - timedelta(days=2), now) == "closed"


def test_a_channel_declares_the_default_windows_of_its_own_rate_limit_scopes(monkeypatch):
    """A channel declares the windows of its own rate-limit scopes; configuration still overrides."""
    from connectors.channels import base

    seen = []
    monkeypatch.setattr(base, "throttle", lambda config, checks: seen.append(dict(config.rate_limits)))

    class Pager(BaseConnector):
        rate_limits = {"pager.send": "1/second"}

    Pager().rate_limited(ConnectorConfig(), [("pager.send", "a")])
    Pager().rate_limited(ConnectorConfig(rate_limits={"pager.send": "5/second"}), [("pager.send", "a")])
    Pager().rate_limited(ConnectorConfig(), [("telegram.send", "a")])
    assert seen == [{"pager.send": "1/second"}, {"pager.send": "5/second"}, {}]
