"""One rule for a business's phrases (flows/phrases.py): at a word start, any case, spacing and ё/е — in
trigger keywords, condition keywords and the phrases that ask for a person."""

from __future__ import annotations

from flows.handoff import asks_for_human
from flows.phrases import contains
from tests.flows.helpers import doc, talk, texts


def test_a_phrase_matches_at_a_word_start_and_may_go_on():
    assert contains("What are your PRICES?", "price")
    assert contains("Позовите  оператора", "оператор")
    assert contains("всё ещё ждём", "все")
    assert not contains("this is it", "hi")
    assert not contains("restart please", "start")
    assert not contains("anything", "")


def test_trigger_and_condition_keywords_use_it():
    flow = doc([("t_hi", "trigger", {"keywords": ["hi"]}),
                ("t_any", "trigger", {}),
                ("greet", "message", {"text": "Hello!"}),
                ("c", "condition", {"rules": [{"id": "art", "kind": "keywords", "keywords": ["art"]}]}),
                ("art", "message", {"text": "Art class"}),
                ("other", "message", {"text": "Something else"})],
               [("t_hi", "out", "greet"), ("t_any", "out", "c"), ("c", "art", "art"), ("c", "else", "other")])
    assert texts(talk(flow, ["hi there"])[0]) == ["Hello!"]
    assert texts(talk(flow, ["this one"])[0]) == ["Something else"]  # "hi" is not in "this"
    assert texts(talk(flow, ["start, please"])[0]) == ["Something else"]
    assert texts(talk(flow, ["Art lessons?"])[0]) == ["Art class"]


def test_asking_for_a_person_uses_it():
    assert asks_for_human("Можно живого человека?", ["живой человек", "живого человека"]) == "живого человека"
    assert asks_for_human("inhuman prices", ["human"]) is None
