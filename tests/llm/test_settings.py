"""provider_from_settings: offline mode, overrides, provider reuse, and no key leaks to other hosts."""

from __future__ import annotations

from connectors.providers.llm import NO_KEY_PLACEHOLDER, get_provider, provider_from_settings
from tests.fakes.openai_server import FakeOpenAI


def test_no_api_key_means_offline() -> None:
    assert provider_from_settings({}) is None
    assert provider_from_settings({"OPENAI_API_KEY": "", "OPENAI_MODEL": "gpt-x"}) is None
    assert provider_from_settings({"OPENAI_API_KEY": None, "llm_base_url": "http://127.0.0.1:1/v1"}) is None


def test_global_settings_and_plan_overrides(openai_fake: FakeOpenAI) -> None:
    settings = {
        "OPENAI_BASE_URL": openai_fake.url, "OPENAI_API_KEY": "sk-global", "OPENAI_MODEL": "base-model"
    }
    provider = provider_from_settings(settings)
    assert provider is not None and provider.model == "base-model" and provider.base_url == openai_fake.url
    assert provider.complete([{"role": "user", "content": "hi"}]).error is None
    assert openai_fake.requests[-1]["model"] == "base-model"
    assert openai_fake.requests[-1]["headers"]["authorization"] == "Bearer sk-global"

    plan = provider_from_settings({**settings, "llm_model": "premium-model"})
    assert plan.model == "premium-model"
    plan.complete([{"role": "user", "content": "hi"}])
    assert openai_fake.requests[-1]["model"] == "premium-model"


def test_providers_are_cached_per_endpoint_key_and_model(openai_fake: FakeOpenAI) -> None:
    settings = {"OPENAI_BASE_URL": openai_fake.url, "OPENAI_API_KEY": "sk-cache", "OPENAI_MODEL": "m1"}
    first = provider_from_settings(settings)
    assert provider_from_settings(dict(settings)) is first
    assert provider_from_settings({**settings, "llm_model": "m2"}) is not first
    assert get_provider(openai_fake.url, "sk-cache", "m1") is first


def test_global_key_is_not_sent_to_an_overridden_host(openai_fake: FakeOpenAI) -> None:
    settings = {"OPENAI_API_KEY": "sk-platform-secret", "llm_base_url": openai_fake.url, "llm_model": "llama"}
    provider = provider_from_settings(settings)
    provider.complete([{"role": "user", "content": "hi"}])
    assert openai_fake.requests[-1]["headers"]["authorization"] == f"Bearer {NO_KEY_PLACEHOLDER}"
    assert "sk-platform-secret" not in repr(provider)

    own = provider_from_settings({**settings, "llm_api_key": "sk-tenant"})
    own.complete([{"role": "user", "content": "hi"}])
    assert openai_fake.requests[-1]["headers"]["authorization"] == "Bearer sk-tenant"


def test_bad_numbers_in_settings_use_defaults(openai_fake: FakeOpenAI) -> None:
    provider = provider_from_settings({"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": openai_fake.url,
                                       "OPENAI_TIMEOUT": "soon", "llm_model": "bad-numbers"})
    assert provider.timeout == 20.0 and provider.max_retries == 2
