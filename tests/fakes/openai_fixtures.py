"""pytest fixture `openai_fake`: a started `FakeOpenAI` per test (the root conftest imports it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    """A loopback OpenAI-compatible server; point a provider's `base_url` at `openai_fake.url`."""
    fake = FakeOpenAI().start()
    try:
        yield fake
    finally:
        fake.stop()
