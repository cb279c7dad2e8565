"""Grounded answers (#19): a model reply stating a price, time, address or number that is not in the business
profile, prices or FAQ is replaced by "I don't know — shall I call a person?" with a quick reply that hands
off; the model here is the real provider talking to the OpenAI-compatible fake over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.providers.llm import OpenAIProvider
from flows import load_flow
from flows.engine import step
from flows.grounding import check
from flows.handoff import default_keywords
from flows.services import offline_services
from flows.turn import TurnEvent
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.catalog import gettext

PROFILE = {
    "prices": "Haircut from 30 EUR; colouring from 60 EUR",
    "address": "12 Main Street, Riga",
    "hours": "Mon–Sat 10:00–20:00",
    "faq": [{"q": "Сколько стоит маникюр?", "a": "Маникюр — 1 500 ₽, ул. Ленина, 5."}],
}


def flow():
    return load_flow({
        "schema_version": 1, "name": "answers",
        "nodes": [{"id": "start", "type": "trigger", "data": {}},
                  {"id": "ai", "type": "llm", "data": {"prompt": "Answer questions about the salon."}}],
        "edges": [{"id": "e1", "source": "start", "sourceHandle": "out", "target": "ai"}],
    })


def run(fake: FakeOpenAI, text: str, language: str = "en"):
    provider = OpenAIProvider(fake.url, "sk-test", "fake-gpt", timeout=2.0)
    services = offline_services(language=language, channel="telegram", llm=provider, profile=PROFILE,
                                translate=gettext(language))
    services.context.handoff_keywords = default_keywords(language)
    event = TurnEvent("message", "telegram", text, {}, {"username": "ann"}, datetime(2026, 1, 5, tzinfo=UTC))
    return step(flow(), None, event, services)


def test_an_invented_price_is_replaced_by_an_offer_of_a_person(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "A haircut is 45 EUR, and we are open until 21:00."
    result = run(openai_fake, "How much is a haircut?")
    [reply] = result.outbound
    assert "don't know" in reply.text and "45" not in reply.text and reply.buttons == ["Talk to a person"]
    warning = result.trace[-1]["warnings"][0]
    assert "'45 EUR'" in warning and "'21:00'" in warning
    assert [e.type for e in result.effects] == ["llm_usage"]  # the call is still counted


def test_pressing_the_offer_hands_off(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "It is 45 EUR."
    first = run(openai_fake, "price?")
    provider = OpenAIProvider(openai_fake.url, "sk-test", "fake-gpt", timeout=2.0)
    services = offline_services(channel="telegram", llm=provider, profile=PROFILE)
    services.context.handoff_keywords = default_keywords("en")
    pressed = step(flow(), first.state, TurnEvent("message", "telegram", first.outbound[0].buttons[0]), services)
    assert [e.type for e in pressed.effects] == ["handoff"] and pressed.state["paused"]


def test_a_reply_from_the_profile_and_faq_goes_out_as_written(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "A haircut is from €30; we're at 12 Main Street, open 10 am to 8 pm."
    assert [m.text for m in run(openai_fake, "price and address?").outbound] == [openai_fake.reply_text]
    openai_fake.reply_text = "Маникюр стоит 1500 рублей, адрес: ул. Ленина, 5."
    assert [m.text for m in run(openai_fake, "Сколько стоит маникюр?", "ru").outbound] == [openai_fake.reply_text]


def test_in_russian_the_replacement_is_russian(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "Маникюр — 2000 ₽, мы на ул. Пушкина, 10."
    [reply] = run(openai_fake, "Сколько стоит маникюр?", "ru").outbound
    assert reply.text.startswith("Точно не знаю") and reply.buttons == ["Позовите человека"]


@pytest.mark.parametrize(("reply", "unsupported"), [
    ("Colouring from 60 EUR.", []),
    ("Colouring is $65.", ["$65"]),
    ("We open at 10:00, close at 8 pm.", []),
    ("We close at 9 pm.", ["9 pm"]),
    ("We're at 12 Main Street.", []),
    ("We're at 40 Oak Street.", ["40 Oak Street"]),
    ("Get 20% off today!", ["20%"]),
    ("Call us: +1 202 555 0143.", ["+1 202 555 0143"]),
    ("Two people can come at once.", []),
    ("A beard trim is 12 EUR.", ["12 EUR"]),       # 12 is the house number, not a price
    ("A beard trim is 5550143 RUB.", ["5550143 RUB"]),
])
def test_the_claims_checked(reply: str, unsupported: list[str]) -> None:
    sources = ["Prices: Haircut from 30 EUR; colouring from 60 EUR\nAddress: 12 Main Street\nHours: 10:00–20:00\n"
               "Phone: +7 900 555 0143"]
    assert check(reply, sources).unsupported == unsupported
