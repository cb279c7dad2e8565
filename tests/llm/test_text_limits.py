"""Channel limits: cut at a sentence/word boundary with an ellipsis; strip markup channels can't show."""

from __future__ import annotations

import pytest

from flows.text_limits import ELLIPSIS, LIMITS, fit_for_channel, strip_markup


def test_limits_per_channel() -> None:
    assert LIMITS == {"telegram": 4096, "whatsapp": 4096, "instagram": 1000, "webchat": 2000}


@pytest.mark.parametrize("channel", ["telegram", "whatsapp", "instagram", "webchat"])
def test_long_text_is_cut_at_sentence_boundary(channel: str) -> None:
    text = "Это предложение про наши услуги. " * 300
    out = fit_for_channel(text, channel)
    assert len(out) <= LIMITS[channel]
    assert out.endswith("услуги." + ELLIPSIS)
    assert len(out) > LIMITS[channel] * 0.9


def test_cut_at_word_boundary_when_no_sentence_end() -> None:
    out = fit_for_channel("слово " * 400, "instagram")
    assert len(out) <= 1000 and out.endswith("слово" + ELLIPSIS)


def test_unbreakable_text_is_hard_cut() -> None:
    out = fit_for_channel("x" * 5000, "webchat")
    assert len(out) == 2000 and out.endswith(ELLIPSIS)


def test_short_text_untouched_and_unknown_channel_uses_strict_limit() -> None:
    assert fit_for_channel("Добрый день! Чем помочь?", "telegram") == "Добрый день! Чем помочь?"
    assert len(fit_for_channel("a " * 3000, "sms")) <= 1000


def test_markdown_and_html_stripped_to_plain_text() -> None:
    text = (
        "## Наши цены\n**Стрижка** — от *1500* ₽, __укладка__ ~~2000~~ 1800 ₽.\n"
        "* Маникюр\n```\nкод\n```\nСмотрите [прайс](https://example.com/p) <b>тут</b> &amp; там<br>"
        "`инлайн` и snake_case_name остаются. 2*3*4 = 24"
    )
    out = fit_for_channel(text, "instagram")
    for leftover in ["#", "**", "__", "~~", "```", "<b>", "</b>", "<br>", "&amp;", "`", "[прайс]"]:
        assert leftover not in out, leftover
    assert out.startswith("Наши цены\nСтрижка — от 1500 ₽, укладка 2000 1800 ₽.")
    assert "• Маникюр" in out and "код" in out
    assert "прайс (https://example.com/p) тут & там" in out
    assert "snake_case_name" in out and "2*3*4 = 24" in out


def test_strip_markup_keeps_plain_text() -> None:
    assert strip_markup("Просто текст, без разметки. 5 * 3 = 15") == "Просто текст, без разметки. 5 * 3 = 15"
