"""Channel limits: cut at a sentence/word boundary with an ellipsis; strip markup channels can't show.

`flows` knows no channel: the limits are the channel registry's, handed over by the caller."""

from __future__ import annotations

import pytest

from connectors.channels.registry import text_limit
from flows.text_limits import DEFAULT_LIMIT, ELLIPSIS, fit_for_channel, fit_text, strip_markup

#: What the channels document (PROTOCOLS.md); the web chat is ours: the widget shows 4000.
LIMITS = {"telegram": 4096, "whatsapp": 4096, "instagram": 1000, "webchat": 4000}


def test_the_limits_are_the_channel_registrys() -> None:
    assert {channel: text_limit(channel) for channel in LIMITS} == LIMITS
    assert text_limit("sms") is None


@pytest.mark.parametrize("channel", ["telegram", "whatsapp", "instagram", "webchat"])
def test_long_text_is_cut_at_sentence_boundary(channel: str) -> None:
    text = "Это предложение про наши услуги. " * 300
    out = fit_for_channel(text, channel, LIMITS)
    assert len(out) <= LIMITS[channel]
    assert out.endswith("услуги." + ELLIPSIS)
    assert len(out) > LIMITS[channel] * 0.9
    assert fit_text(text, LIMITS[channel]) == out


def test_cut_at_word_boundary_when_no_sentence_end() -> None:
    out = fit_text("слово " * 400, 1000)
    assert len(out) <= 1000 and out.endswith("слово" + ELLIPSIS)


def test_unbreakable_text_is_hard_cut() -> None:
    out = fit_for_channel("x" * 5000, "webchat", LIMITS)
    assert len(out) == 4000 and out.endswith(ELLIPSIS)


def test_short_text_untouched_and_a_channel_without_a_given_limit_uses_the_strict_one() -> None:
    assert fit_for_channel("Добрый день! Чем помочь?", "telegram", LIMITS) == "Добрый день! Чем помочь?"
    assert len(fit_for_channel("a " * 3000, "sms", LIMITS)) <= DEFAULT_LIMIT == 1000
    assert len(fit_for_channel("a " * 3000, "telegram")) <= DEFAULT_LIMIT  # no map given
    assert len(fit_text("a " * 3000)) <= DEFAULT_LIMIT


def test_markdown_and_html_stripped_to_plain_text() -> None:
    text = (
        "## Наши цены\n**Стрижка** — от *1500* ₽, __укладка__ ~~2000~~ 1800 ₽.\n"
        "* Маникюр\n```\nкод\n```\nСмотрите [прайс](https://example.com/p) <b>тут</b> &amp; там<br>"
        "`инлайн` и snake_case_name остаются. 2*3*4 = 24"
    )
    out = fit_text(text, 1000)
    for leftover in ["#", "**", "__", "~~", "```", "<b>", "</b>", "<br>", "&amp;", "`", "[прайс]"]:
        assert leftover not in out, leftover
    assert out.startswith("Наши цены\nСтрижка — от 1500 ₽, укладка 2000 1800 ₽.")
    assert "• Маникюр" in out and "код" in out
    assert "прайс (https://example.com/p) тут & там" in out
    assert "snake_case_name" in out and "2*3*4 = 24" in out


def test_strip_markup_keeps_plain_text() -> None:
    assert strip_markup("Просто текст, без разметки. 5 * 3 = 15") == "Просто текст, без разметки. 5 * 3 = 15"


def test_ai_and_faq_replies_are_cut_to_the_limit_the_turn_was_given() -> None:
    """Nodes read their channel's limit from the turn's context (the caller's, from the registry), not
    from a table of channel names: the same reply is cut at 1000 without one and kept up to 4000 with it."""
    from flows.services import LLMResult
    from tests.flows.helpers import doc, services, talk, texts

    class Long:
        def complete(self, messages, *, max_tokens, response_schema=None):
            return LLMResult(text="Это предложение про наши услуги. " * 100)

    ai = doc([("start", "trigger", {}), ("ai", "llm", {})], [("start", "out", "ai")])
    faq = doc([("start", "trigger", {}), ("faq", "faq", {})], [("start", "out", "faq")])
    entries = [{"q": "сколько стоит стрижка", "a": "Стрижка стоит 1500 рублей. " * 100}]
    for flow, make in ((ai, lambda limit: services(llm=Long(), text_limit=limit)),
                       (faq, lambda limit: services(profile={"faq": entries}, text_limit=limit))):
        [strict] = talk(flow, ["сколько стоит стрижка"], make(None), channel="webchat")
        [roomy] = talk(flow, ["сколько стоит стрижка"], make(LIMITS["webchat"]), channel="webchat")
        assert len(texts(strict)[0]) <= DEFAULT_LIMIT < len(texts(roomy)[0]) <= LIMITS["webchat"]
