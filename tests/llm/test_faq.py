"""Offline FAQ retrieval: Russian and English paraphrases match, unrelated questions don't."""

from __future__ import annotations

import time

import pytest

from flows import faq

ENTRIES = [
    {"q": "Цена стрижки?", "a": "Женская стрижка от 1500 ₽, мужская — 900 ₽."},
    {"q": "Где вы находитесь?", "a": "ул. Ленина, 5, вход со двора."},
    {"q": "When are you open?", "a": "Mon–Sat 10:00–20:00, Sunday closed."},
    {"q": "Сколько стоит маникюр?", "a": "Маникюр с покрытием — 1200 ₽."},
    {"q": "Do you have parking?", "a": "Yes, free parking behind the building."},
    {"q": "Как записаться?", "a": "Напишите удобное время — мы подберём мастера."},
    {"q": "Часы работы", "a": "Ежедневно с 10 до 20."},
    {"q": "How much is a haircut?", "a": "From $30."},
]


@pytest.mark.parametrize(
    ("query", "expected_q"),
    [
        ("сколько стоит стрижка", "Цена стрижки?"),
        ("Почём стрижка у вас?", "Цена стрижки?"),
        ("стрижки сколько стоят", "Цена стрижки?"),
        ("как к вам добраться", "Где вы находитесь?"),
        ("ваш адрес?", "Где вы находитесь?"),
        ("можно записаться на завтра?", "Как записаться?"),
        ("what are your opening hours", "When are you open?"),
        ("what time do you close?", "When are you open?"),
        ("Is there parking nearby?", "Do you have parking?"),
        ("how much for a haircut", "How much is a haircut?"),
        ("СКОЛЬКО СТОИТ МАНИКЮР!!!", "Сколько стоит маникюр?"),
    ],
)
def test_paraphrases_match(query: str, expected_q: str) -> None:
    hit = faq.best_answer(query, ENTRIES)
    assert hit is not None, query
    assert hit[0]["q"] == expected_q
    assert faq.DEFAULT_THRESHOLD <= hit[1] <= 100


def test_russian_hours_paraphrase_matches_an_hours_entry() -> None:
    hit = faq.best_answer("до скольки вы работаете?", ENTRIES)
    assert hit is not None and hit[0]["q"] in {"Часы работы", "When are you open?"}


@pytest.mark.parametrize(
    "query",
    ["Do you sell gift cards?", "какая погода в москве", "привет", "", "сколько стоит окрашивание волос",
     "what is the price of a tattoo"],
)
def test_unrelated_or_different_item_does_not_answer(query: str) -> None:
    assert faq.best_answer(query, ENTRIES) is None


def test_same_topic_other_item_ranks_but_below_threshold() -> None:
    ranked = faq.rank("сколько стоит окрашивание", ENTRIES)
    assert ranked and all(score < faq.DEFAULT_THRESHOLD for _, score in ranked)
    assert {entry["q"] for entry, _ in ranked} <= {"Цена стрижки?", "Сколько стоит маникюр?",
                                                    "How much is a haircut?"}


def test_rank_is_sorted_limited_and_scored() -> None:
    ranked = faq.rank("сколько стоит стрижка", ENTRIES, limit=2)
    assert len(ranked) == 2
    assert ranked[0][0]["q"] == "Цена стрижки?"
    assert ranked[0][1] >= ranked[1][1]
    assert all(0 < score <= 100 for _, score in ranked)
    assert faq.rank("сколько стоит стрижка", ENTRIES, limit=0) == []
    assert faq.rank("сколько стоит стрижка", []) == []


def test_threshold_is_configurable() -> None:
    assert faq.best_answer("стрижка", ENTRIES, threshold=99) is None
    assert faq.best_answer("стрижка", ENTRIES, threshold=50)[0]["q"] == "Цена стрижки?"


def test_typo_and_yo_normalisation() -> None:
    entries = [{"q": "Есть ли у вас ёлочные игрушки?", "a": "Да"}]
    assert faq.best_answer("елочные игрушкии есть?", entries) is not None


def test_fast_for_200_entries() -> None:
    entries = [{"q": f"Вопрос {i}: услуга номер {i} и её стоимость", "a": f"Ответ про услугу {i}"}
               for i in range(200)]
    entries.append({"q": "Цена стрижки?", "a": "1500"})
    faq.rank("разогрев", entries)
    started = time.perf_counter()
    for i in range(10):
        ranked = faq.rank(f"сколько стоит стрижка {i}", entries)
    per_call = (time.perf_counter() - started) / 10
    assert ranked[0][0]["q"] == "Цена стрижки?"
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per rank over 201 entries"
