"""Grounded answers (#19): a model reply stating a price, time, address or number that is not in the business
profile, prices or FAQ is replaced by "I don't know — shall I call a person?" with a quick reply that hands
off; the model here is the real provider talking to the OpenAI-compatible fake over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.providers.llm import OpenAIProvider
from flows import load_flow
from flows.engine import step
from flows.grounding import check, customer_texts
from flows.handoff import default_keywords
from flows.services import FakeLLM, offline_services
from flows.turn import TurnEvent
from tests.fakes.openai_server import FakeOpenAI
from tests.flows.helpers import linear, talk, texts
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


EN = ["Prices: haircut 30 EUR, beard trim 15 EUR, colouring 40–60 EUR; students get 20% off.\n"
      "Address: Main Street 3, Riga. Hours: 09:00–18:00. Phone: +7 900 555 0143"]
RU = ["Маникюр — 1 500 руб., педикюр 2000–2500 ₽, пенсионерам скидка 10%.\n"
      "Адрес: ул. Ленина, д. 7. Работаем с 9.00 до 21.00."]


@pytest.mark.parametrize(("sources", "reply", "unsupported"), [
    (EN, "Students get 20 EUR off.", ["20 EUR"]),          # 20 is a percentage in the sources
    (EN, "A beard trim is 15% off today.", ["15%"]),       # 15 is a price in the sources
    (EN, "A haircut is €30.00, and students get 20% off.", []),
    (RU, "Пенсионерам скидка 10 руб.", ["10 руб"]),
    (RU, "Скидка на маникюр — 1 500%.", ["1 500%"]),
    (RU, "Маникюр — 1500 ₽, пенсионерам скидка 10 процентов.", []),
])
def test_amounts_and_percentages_ground_only_their_own_kind(sources: list[str], reply: str,
                                                             unsupported: list[str]) -> None:
    assert check(reply, sources).unsupported == unsupported


@pytest.mark.parametrize(("sources", "reply", "unsupported"), [
    (EN, "Colouring is 40–60 EUR.", []),
    (EN, "Colouring is 40-60 EUR, or €40—€60.", []),
    (EN, "Colouring is 40 − 70 EUR.", ["40 − 70 EUR"]),    # the upper end is not a price
    (EN, "Colouring is 35–60 EUR.", ["35–60 EUR"]),         # nor the lower one
    (EN, "Colouring is 1000–1200 EUR.", ["1000–1200 EUR"]),  # one amount claim, not a phone number
    (EN, "We are open 09:00—18:00.", []),
    (EN, "We are open 09:00–19:00.", ["19:00"]),
    (EN, "Ask about rooms 1000-1200.", []),                 # a bare rising range is not a phone number
    (RU, "Педикюр — 2000–2500 ₽, работаем с 9.00–21.00.", []),
    (RU, "Педикюр — 2000–3000 ₽.", ["2000–3000 ₽"]),
    (RU, "Работаем с 9.00 до 22.00.", ["22.00"]),
])
def test_ranges_check_both_ends(sources: list[str], reply: str, unsupported: list[str]) -> None:
    assert check(reply, sources).unsupported == unsupported


@pytest.mark.parametrize(("sources", "reply", "unsupported"), [
    (EN, "You're booked for 12.05.2026 at 09:00.", []),
    (EN, "You're booked for 2026-05-12 (12/05/2026).", []),  # dates, not phone numbers
    (EN, "See you on 12.05!", []),                          # a date, not 12:05
    (EN, "See you at 12.05.", ["12.05"]),                   # "at": a time, and not in the hours
    (EN, "See you at 9.00 am.", []),
    (RU, "Запись на 12.05.2026 подтверждена, ждём вас 12.05 в 9.00.", []),
    (RU, "Ждём вас в 10.30.", ["10.30"]),
])
def test_dates_are_neither_phones_nor_times(sources: list[str], reply: str, unsupported: list[str]) -> None:
    assert check(reply, sources).unsupported == unsupported


@pytest.mark.parametrize(("sources", "reply", "unsupported"), [
    (EN, "We're at 3 Main Street.", []),
    (EN, "We're at 15 Main Street.", ["15 Main Street"]),  # 15 is a price; the house is number 3
    (RU, "Мы на ул. Ленина, 7.", []),
    (RU, "Мы на ул. Ленина, 10.", ["ул. Ленина, 10"]),     # 10 is a percentage; the house is number 7
])
def test_an_address_needs_its_number_next_to_its_street(sources: list[str], reply: str,
                                                         unsupported: list[str]) -> None:
    assert check(reply, sources).unsupported == unsupported


def test_the_customers_own_phone_may_be_repeated_back_but_nothing_else_they_wrote() -> None:
    customer = ["Is it 25 EUR? Can I come at 19:00? My number is +371 2000 0000"]
    assert check("We'll call you at +371 2000 0000.", EN, customer).unsupported == []
    assert check("We'll call you at +371 2000 0000.", EN).unsupported == ["+371 2000 0000"]
    assert check("Yes, 25 EUR at 19:00; we'll call +371 2000 0001.", EN, customer).unsupported == [
        "25 EUR", "19:00", "+371 2000 0001"]
    assert check("Перезвоним вам на +7 912 345-67-89.", RU, ["Мой номер +7 912 345–67–89"]).unsupported == []
    assert check("Перезвоним вам на +7 912 345-67-89.", RU, ["Маникюр за 2000 ₽?"]).unsupported == [
        "+7 912 345-67-89"]


def test_customer_texts_are_the_user_messages() -> None:
    messages = [{"role": "system", "content": "Prices: 30 EUR"}, {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "+371 2000 0000"}]
    assert customer_texts(messages) == ["hi", "+371 2000 0000"]


def test_the_llm_node_may_repeat_the_customers_phone(openai_fake: FakeOpenAI) -> None:
    openai_fake.reply_text = "Thanks! We'll call you at +371 2000 0000."
    assert [m.text for m in run(openai_fake, "Call me back: +371 2000 0000").outbound] == [openai_fake.reply_text]
    openai_fake.reply_text = "Спасибо! Перезвоним на +371 2000 0001."
    [reply] = run(openai_fake, "Перезвоните мне: +371 2000 0000", "ru").outbound
    assert reply.text.startswith("Точно не знаю")


def test_a_question_inside_a_form_may_repeat_the_customers_phone() -> None:
    def form_turn(answer: str) -> list[str]:
        llm = FakeLLM(data={"is_question": True, "reply": answer})
        svc = offline_services(profile=PROFILE, llm=llm, translate=gettext("en"))
        ask = ("q_email", "ask", {"text": "Your email?", "variable": "email", "validate": "email"})
        return texts(talk(linear(ask), ["hi", "Could you call me at +371 2000 0000 instead?"], svc)[1])

    assert form_turn("Sure, we'll call you at +371 2000 0000.") == ["Sure, we'll call you at +371 2000 0000.",
                                                                    "Your email?"]
    assert "don't know" in form_turn("Sure, we'll call you at +371 2000 0001.")[0]


def test_a_big_price_written_without_a_currency_in_the_sources_still_backs_the_price():
    sources = ["Prices: 2-room flat - 1 500 000, studio - 850 000"]
    assert check("A 2-room flat is 1 500 000 EUR.", sources).grounded
    assert not check("A 3-room flat is 2 100 000 EUR.", sources).grounded
