"""The engine's `llm` node with the real provider over HTTP: reply, validated extraction, fallback."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.providers.llm import OpenAIProvider
from flows import load_flow
from flows.engine import step
from flows.services import offline_services
from flows.turn import TurnEvent
from tests.fakes.openai_server import FakeOpenAI

FAQ = [{"q": "Цена стрижки?", "a": "Стрижка — 1500 ₽."}]


def flow():
    nodes = [
        ("start", "trigger", {}),
        ("ai", "llm", {"prompt": "Запиши клиента: узнай имя и телефон.",
                       "extract": [{"variable": "name", "validate": "name"},
                                   {"variable": "phone", "validate": "phone"}]}),
        ("done", "end", {}),
    ]
    edges = [("start", "out", "ai"), ("ai", "ok", "done"), ("ai", "fallback", "done")]
    return load_flow({
        "schema_version": 1, "name": "llm e2e",
        "nodes": [{"id": i, "type": t, "position": {"x": n * 100, "y": 0}, "data": d}
                  for n, (i, t, d) in enumerate(nodes)],
        "edges": [{"id": f"e{n}", "source": s, "sourceHandle": p, "target": t}
                  for n, (s, p, t) in enumerate(edges)],
    })


def run(fake: FakeOpenAI, text: str, **provider_kwargs):
    provider = OpenAIProvider(fake.url, "sk-test", "fake-gpt", **{"timeout": 2.0, **provider_kwargs})
    services = offline_services(language="ru", channel="instagram", llm=provider,
                                profile={"name": "Лиса", "faq": FAQ})
    event = TurnEvent("dm", "instagram", text, {}, {"username": "ann"}, datetime(2026, 1, 5, tzinfo=UTC))
    return step(flow(), None, event, services)


def test_reply_and_valid_fields_stored_invalid_phone_rejected(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_json = {"reply": "**Спасибо**, Анна! Перезвоним.", "name": "Анна", "phone": "12345"}
    result = run(openai_fake, "Я Анна, мой номер 12345")
    assert result.error is None
    assert [m.text for m in result.outbound] == ["Спасибо, Анна! Перезвоним."]  # markup stripped
    assert result.state["vars"].get("name") == "Анна"
    assert "phone" not in result.state["vars"]  # the model's invalid phone was not trusted
    request = openai_fake.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    system = request["messages"][0]
    assert system["role"] == "system" and "Always answer in Russian" in system["content"]
    assert request["messages"][-1] == {"role": "user", "content": "Я Анна, мой номер 12345"}
    usage = [e for e in result.effects if e.type == "llm_usage"]
    assert usage and usage[0].payload["prompt_tokens"] > 0 and usage[0].payload["completion_tokens"] > 0


def test_model_failure_falls_back_to_faq_answer(openai_fake: FakeOpenAI) -> None:
    openai_fake.fail_always(500)
    result = run(openai_fake, "сколько стоит стрижка?", max_retries=1, backoff_base=0.01)
    assert [m.text for m in result.outbound] == ["Стрижка — 1500 ₽."]
    assert len(openai_fake.requests) == 2
