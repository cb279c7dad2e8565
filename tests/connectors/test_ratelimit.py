import time
import uuid
from dataclasses import replace

import pytest

from connectors.channels import ratelimit
from connectors.channels.events import ConnectorConfig, Outbound
from connectors.channels.registry import get_connector


def config(**kw):
    ratelimit.reset("memory://")
    return ConnectorConfig(**{"rate_limits": {"telegram.chat": "2/second"}, "max_wait": 0.0, **kw})


def test_each_channel_declares_the_windows_of_the_scopes_it_uses():
    from connectors.channels.registry import all_connectors

    declared = {name: spec for c in all_connectors() for name, spec in c.rate_limits.items()}
    assert {"instagram.send", "instagram.private_reply", "whatsapp.send", "whatsapp.pair", "telegram.send",
            "telegram.chat"} <= set(declared)
    for name in declared:
        assert ratelimit.limit_for(ConnectorConfig(rate_limits=declared), name).amount > 0
    assert ratelimit.limit_for(ConnectorConfig(rate_limits=declared), "instagram.private_reply").amount == 750


def test_over_the_limit_returns_a_retry_after():
    cfg = config()
    key = [("telegram.chat", "bot:1")]
    assert ratelimit.acquire(cfg, key) is None
    assert ratelimit.acquire(cfg, key) is None
    wait = ratelimit.acquire(cfg, key)
    assert wait is not None and 0 < wait <= 1.0
    assert ratelimit.acquire(cfg, [("telegram.chat", "bot:2")]) is None  # other chats unaffected


def test_waits_when_the_slot_frees_within_max_wait():
    cfg = config(max_wait=2.0)
    key = [("telegram.chat", "bot:3")]
    limit = ratelimit.limit_for(cfg, "telegram.chat")
    limiter = ratelimit.get_limiter(cfg.ratelimit_storage)
    slept: list[tuple[float, bool]] = []  # (seconds, was the window full when the limiter chose to wait)

    def sleep(seconds: float) -> None:
        slept.append((seconds, not limiter.test(limit, "telegram.chat", "bot:3")))
        time.sleep(seconds)  # the window is real time: let it move on

    assert ratelimit.acquire(cfg, key, sleep=sleep) is None
    assert ratelimit.acquire(cfg, key, sleep=sleep) is None
    assert not slept  # room in the window: no wait
    assert ratelimit.acquire(cfg, key, sleep=sleep) is None  # the third of "2/second" went ahead...
    assert slept and all(full and 0 < seconds <= 1.0 for seconds, full in slept)  # ...after waiting for the window


def test_all_windows_must_have_room_and_none_is_consumed_when_blocked():
    cfg = config(rate_limits={"telegram.chat": "1/minute", "telegram.send": "2/minute"})
    assert ratelimit.acquire(cfg, [("telegram.send", "b"), ("telegram.chat", "b:1")]) is None
    assert ratelimit.acquire(cfg, [("telegram.send", "b"), ("telegram.chat", "b:1")]) is not None
    # the blocked call above did not use up the bot-wide slot
    assert ratelimit.acquire(cfg, [("telegram.send", "b"), ("telegram.chat", "b:2")]) is None


def test_send_returns_retryable_result_without_calling_the_api(telegram_api, connector_config):
    cfg = replace(connector_config, rate_limits={"telegram.chat": "1/minute"}, max_wait=0.0)
    tg = get_connector("telegram")
    creds = {"bot_token": telegram_api.token}
    assert tg.send(creds, Outbound("message", "555", "one"), cfg).status == "sent"
    limited = tg.send(creds, Outbound("message", "555", "two"), cfg)
    assert limited.status == "failed" and limited.retryable and limited.retry_after > 0
    assert len(telegram_api.sent) == 1


def test_instagram_private_replies_have_their_own_hourly_window(graph_api, connector_config):
    cfg = replace(connector_config, rate_limits={"instagram.private_reply": "1/hour"}, max_wait=0.0)
    ig = get_connector("instagram")
    creds = {"access_token": "tok-123456", "account_id": "1784"}
    assert ig.send(creds, Outbound("private_reply", "c1", "hi"), cfg).status == "sent"
    limited = ig.send(creds, Outbound("private_reply", "c2", "hi"), cfg)
    assert limited.retryable and limited.retry_after > 60
    assert ig.send(creds, Outbound("message", "IGSID", "hi"), cfg).status == "sent"  # DMs unaffected


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url("redis://127.0.0.1:6379", socket_timeout=0.5).ping())
    except Exception:
        return False


@pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")
def test_redis_storage_is_shared_state():
    cfg = ConnectorConfig(ratelimit_storage="redis://127.0.0.1:6379", rate_limits={"telegram.chat": "2/minute"},
                          max_wait=0.0)
    key = [("telegram.chat", f"test-{uuid.uuid4()}")]
    assert ratelimit.acquire(cfg, key) is None
    assert ratelimit.acquire(cfg, key) is None
    assert ratelimit.acquire(cfg, key) is not None


def test_unreachable_storage_fails_open(caplog):
    cfg = ConnectorConfig(ratelimit_storage="redis://127.0.0.1:9", max_wait=0.0,
                          rate_limits={"telegram.chat": "3 per 3 seconds"})
    slept: list[float] = []
    assert ratelimit.acquire(cfg, [("telegram.chat", "x")], sleep=slept.append) is None
    assert not slept  # nothing waited on: the storage error lets the send go at once
    assert "unavailable, not limiting" in caplog.text


def test_none_storage_disables_limits_and_config_key_overrides_flask_limiter_uri():
    cfg = ConnectorConfig.from_mapping({"RATELIMIT_STORAGE_URI": "memory://", "CONNECTOR_RATELIMIT_STORAGE": "none://",
                                        "CONNECTOR_RATE_LIMITS": {"telegram.chat": "1/hour"}})
    assert cfg.ratelimit_storage == "none://"
    assert all(ratelimit.acquire(cfg, [("telegram.chat", "k")]) is None for _ in range(5))
    assert ConnectorConfig.from_mapping({"RATELIMIT_STORAGE_URI": "redis://h:1"}).ratelimit_storage == "redis://h:1"
