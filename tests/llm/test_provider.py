"""OpenAIProvider against the loopback fake: real HTTP, the real `openai` client, our retry policy."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors.providers.llm import OpenAIProvider, parse_json_object
from flows.prompt import estimate_messages_tokens, estimate_tokens, extraction_schema
from flows.services import LLMResult
from flows.validators import check
from tests.fakes.openai_server import FakeOpenAI, count_tokens

MESSAGES = [{"role": "system", "content": "You are a salon assistant."},
            {"role": "user", "content": "Сколько стоит стрижка?"}]


class RecordingSleep:
    """Really sleeps (the retry must wait) and remembers how long, to check Retry-After is honoured."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def make(fake: FakeOpenAI, **kwargs) -> OpenAIProvider:
    options = {"timeout": 2.0, "max_retries": 2, "backoff_base": 0.05, "backoff_max": 0.2}
    options.update(kwargs)
    return OpenAIProvider(fake.url, "sk-test", "fake-gpt", **options)


def test_plain_reply_with_usage(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "Стрижка стоит 1500 ₽."
    result = make(openai_fake).complete(MESSAGES, max_tokens=123)
    assert isinstance(result, LLMResult)
    assert result.error is None and result.text == "Стрижка стоит 1500 ₽." and result.data is None
    assert result.model == "fake-gpt"
    expected_prompt = 3 + sum(3 + count_tokens(m["content"]) for m in MESSAGES)
    assert (result.prompt_tokens, result.completion_tokens) == (expected_prompt, count_tokens(result.text))
    [request] = openai_fake.requests
    assert request["messages"] == MESSAGES and request["model"] == "fake-gpt"
    assert request["max_tokens"] == 123 and request["response_format"] is None
    assert request["headers"]["authorization"] == "Bearer sk-test"


def test_429_with_retry_after_is_retried_then_succeeds(openai_fake: FakeOpenAI) -> None:
    openai_fake.fail(2, status=429, retry_after=0.2)
    sleep = RecordingSleep()
    result = make(openai_fake, sleep=sleep).complete(MESSAGES)
    assert result.error is None and result.text == "Hello from the fake model."
    assert len(openai_fake.requests) == 3
    assert len(sleep.waits) == 2 and all(0.2 <= w <= 0.31 for w in sleep.waits), sleep.waits
    assert result.prompt_tokens > 0  # usage of the successful attempt


def test_retry_after_beyond_cap_fails_fast(openai_fake: FakeOpenAI) -> None:
    openai_fake.fail(1, status=429, retry_after=120)
    sleep = RecordingSleep()
    result = make(openai_fake, sleep=sleep).complete(MESSAGES)
    assert result.error and result.error.startswith("rate_limited (HTTP 429)")
    assert len(openai_fake.requests) == 1 and sleep.waits == []  # 120 s is not waited for


def test_500_forever_gives_error_after_bounded_retries(openai_fake: FakeOpenAI) -> None:
    openai_fake.fail_always(500)
    sleep = RecordingSleep()
    result = make(openai_fake, max_retries=2, sleep=sleep).complete(MESSAGES)
    assert result.error and result.error.startswith("server_error (HTTP 500)")
    assert result.text == "" and result.data is None
    assert len(openai_fake.requests) == 3  # 1 try + 2 retries, then give up
    assert len(sleep.waits) == 2 and all(w <= 0.2 for w in sleep.waits)  # backoff_max bounds each wait


def test_timeout_returns_error_quickly(openai_fake: FakeOpenAI) -> None:
    openai_fake.hang = 5.0
    result = make(openai_fake, timeout=0.3, max_retries=1).complete(MESSAGES)
    assert result.error == "timeout"
    assert len(openai_fake.requests) == 2  # timed out, retried once, timed out again (not a 5 s wait)


def test_auth_error_is_not_retried(openai_fake: FakeOpenAI) -> None:
    openai_fake.api_key = "sk-right"
    result = make(openai_fake).complete(MESSAGES)
    assert result.error and result.error.startswith("auth_error (HTTP 401)")
    assert "sk-test" not in result.error
    assert len(openai_fake.requests) == 1


def test_unreachable_server_is_an_error_not_an_exception() -> None:
    provider = OpenAIProvider("http://127.0.0.1:9/v1", "k", "m", timeout=0.5, max_retries=1,
                              backoff_base=0.01)
    assert provider.complete(MESSAGES).error == "connection_error"


def test_structured_extraction_returns_data_and_invalid_phone_is_detectable(openai_fake: FakeOpenAI) -> None:
    schema = extraction_schema([{"name": "name"}, {"name": "phone", "kind": "phone"}])
    openai_fake.reply_json = {"reply": "Записала вас, Анна!", "name": "Анна", "phone": "12345"}
    result = make(openai_fake).complete(MESSAGES, response_schema=schema)
    assert result.error is None
    assert result.data == {"reply": "Записала вас, Анна!", "name": "Анна", "phone": "12345"}
    assert result.text == "Записала вас, Анна!"  # the reply field, never the raw JSON
    response_format = openai_fake.requests[0]["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["schema"] == schema and response_format["json_schema"]["strict"]
    # every extracted field is untrusted: the shared validators reject the model's bad phone
    assert check("phone", result.data["phone"]) == (False, None)
    assert check("name", result.data["name"]) == (True, "Анна")

    openai_fake.reply_json = {"reply": "Спасибо!", "name": None, "phone": "+7 912 345-67-89"}
    data = make(openai_fake).complete(MESSAGES, response_schema=schema).data
    assert check("phone", data["phone"]) == (True, "+79123456789")


def test_server_without_structured_output_falls_back_to_json_in_text(openai_fake: FakeOpenAI) -> None:
    schema = extraction_schema(["phone"])
    openai_fake.reject_response_format = True
    openai_fake.reply_content = 'Вот ответ:\n```json\n{"reply": "Готово", "phone": null}\n```'
    provider = make(openai_fake)
    result = provider.complete(MESSAGES, response_schema=schema)
    assert result.error is None and result.data == {"reply": "Готово", "phone": None}
    assert result.text == "Готово"
    first, second = openai_fake.requests
    assert first["response_format"] and second["response_format"] is None
    assert '"phone"' in second["messages"][0]["content"] and second["messages"][0]["role"] == "system"
    assert len([m for m in second["messages"] if m["role"] == "system"]) == 1
    provider.complete(MESSAGES, response_schema=schema)
    assert openai_fake.requests[2]["response_format"] is None  # remembered: no more 400 round-trips


def test_unparseable_structured_reply_is_an_error(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_content = '{"reply": "Hi", "phone": '
    result = make(openai_fake).complete(MESSAGES, response_schema=extraction_schema(["phone"]))
    assert result.error and result.error.startswith("invalid_json")
    assert result.text == ""  # broken JSON must never reach a customer


def test_empty_reply_is_an_error_so_the_engine_falls_back(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "   "
    result = make(openai_fake).complete(MESSAGES)
    assert result.error == "empty_reply" and result.prompt_tokens > 0


def test_one_provider_serves_concurrent_threads(openai_fake: FakeOpenAI) -> None:
    openai_fake.delay = 0.5
    provider = make(openai_fake)
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: provider.complete(MESSAGES), range(20)))
    assert all(r.error is None for r in results)
    assert openai_fake.max_in_flight >= 10  # overlapped at the fake, not one after another


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"a": 1}', {"a": 1}), ('```json\n{"a": 1}\n```', {"a": 1}), ('Sure: {"a": 1} ok', {"a": 1}),
     ("[1, 2]", None), ("no json", None), ("", None)],
)
def test_parse_json_object(text: str, expected: dict | None) -> None:
    assert parse_json_object(text) == expected


def test_endpoint_wanting_max_completion_tokens_is_adapted_once(openai_fake: FakeOpenAI) -> None:
    openai_fake.reject_max_tokens = True
    provider = make(openai_fake)
    result = provider.complete(MESSAGES, max_tokens=77)
    assert result.error is None and result.text == "Hello from the fake model."
    first, second = openai_fake.requests
    assert "max_tokens" in first["body"] and "max_tokens" not in second["body"]
    assert second["body"]["max_completion_tokens"] == 77
    schema = extraction_schema(["phone"])
    openai_fake.reply_json = {"reply": "Ок", "phone": None}
    assert provider.complete(MESSAGES, max_tokens=50, response_schema=schema).data == openai_fake.reply_json
    assert len(openai_fake.requests) == 3  # remembered: no second 400
    assert openai_fake.requests[2]["body"]["max_completion_tokens"] == 50


def test_missing_usage_is_estimated_so_plan_limits_still_count(openai_fake: FakeOpenAI) -> None:
    openai_fake.omit_usage = True
    result = make(openai_fake).complete(MESSAGES)
    assert result.error is None
    assert result.prompt_tokens == estimate_messages_tokens(MESSAGES) > 0
    assert result.completion_tokens == estimate_tokens("Hello from the fake model.") > 0
