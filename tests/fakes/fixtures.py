"""pytest fixtures ``graph_api``, ``telegram_api`` and ``connector_config`` (the root conftest imports them).

Each test gets freshly started loopback fakes; ``connector_config`` points every external base URL at
them, uses fast backoff and starts from empty in-memory rate-limit windows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.channels import ratelimit
from connectors.channels.events import ConnectorConfig
from tests.fakes.graph_api import FakeGraphAPI
from tests.fakes.telegram_api import FakeTelegramAPI


@pytest.fixture
def graph_api() -> Iterator[FakeGraphAPI]:
    """A fake Graph API (Instagram + WhatsApp paths); ``graph_api.url``, ``.requests``, ``.fail()``."""
    ratelimit.reset("memory://")  # sends in the previous test must not throttle this one
    fake = FakeGraphAPI().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramAPI]:
    """A fake Telegram Bot API with one registered bot (``telegram_api.token``)."""
    ratelimit.reset("memory://")
    fake = FakeTelegramAPI().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def connector_config(graph_api: FakeGraphAPI, telegram_api: FakeTelegramAPI) -> ConnectorConfig:
    """ConnectorConfig aimed at both fakes, fast retries, fresh memory rate-limit windows."""
    return ConnectorConfig(
        meta_graph_url=graph_api.url,
        instagram_graph_url=graph_api.url,
        telegram_api_url=telegram_api.url,
        timeout=5.0,
        backoff_base=0.01,
        backoff_max=0.05,
        ratelimit_storage="memory://",
    )
