"""The engine's side of the handoff (pure): a customer asking for a person, and the hand back."""

from __future__ import annotations

from dataclasses import replace

from flows import load_flow
from flows.engine import step
from flows.handoff import asks_for_human, default_keywords, parse_keywords
from tests.flows.helpers import doc, event, services, talk, texts


def _svc(language: str = "en"):
    svc = services()
    svc.context = replace(svc.context, language=language, handoff_keywords=default_keywords(language))
    return svc


ASK = doc([("start", "trigger", {}), ("q", "ask", {"text": "Your email?", "variable": "email", "validate": "email"}),
           ("ok", "message", {"text": "Thanks"})], [("start", "out", "q"), ("q", "ok", "ok")])
NODE = doc([("start", "trigger", {}), ("h", "handoff", {"text": "Wait please"}),
            ("next", "message", {"text": "Back!"})], [("start", "out", "h"), ("h", "out", "next")])


def test_phrases_match_at_a_word_start_in_any_case_and_spacing():
    assert asks_for_human("Позовите  ОПЕРАТОРА", default_keywords("ru")) == "оператор"
    assert asks_for_human("I want a real   person", default_keywords("en")) == "real person"
    assert asks_for_human("inhuman prices", default_keywords("en")) is None
    assert asks_for_human("", default_keywords("en")) is None
    assert parse_keywords(" Boss ,\nboss\n\n  call  me ") == ("boss", "call me")


def test_a_request_wins_over_the_pending_answer_and_keeps_the_question():
    first, second = talk(ASK, ["hi", "human please"], _svc())
    assert texts(first) == ["Your email?"]
    assert texts(second) == ["I'm passing you to a manager — they will reply here soon."]
    assert [e.type for e in second.effects] == ["handoff"] and second.effects[0].payload["keyword"] == "human"
    assert second.state["paused"] and second.state["waiting"]["node"] == "q"
    back = step(load_flow(ASK), second.state, event(kind="handback"), _svc())
    assert texts(back) == ["Your email?"] and not back.state["paused"] and back.state["waiting"]["node"] == "q"


def test_without_phrases_in_the_context_nothing_is_detected():
    [result] = talk(ASK, ["human"], services())
    assert texts(result) == ["Your email?"]


def test_hand_back_goes_on_after_the_handoff_node_or_finishes():
    [paused] = talk(NODE, ["hi"], _svc())
    assert texts(paused) == ["Wait please"] and paused.state["paused"]
    back = step(load_flow(NODE), paused.state, event(kind="handback"), _svc())
    assert texts(back) == ["Back!"] and back.finished and not back.state["paused"]
    again = step(load_flow(NODE), back.state, event(kind="handback"), _svc())
    assert texts(again) == [] and again.finished
