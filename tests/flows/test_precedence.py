"""Precedence, the same everywhere (#19): a request for a person, then keyword triggers, then an FAQ answer
inside a form, then the form's own validation and re-ask."""

from __future__ import annotations

from flows.handoff import default_keywords
from flows.services import offline_services
from tests.flows.helpers import doc, talk, texts

FAQ = [{"q": "What are your prices?", "a": "Haircut from 30 EUR."}]


def flow() -> dict:
    """A catch-all lead form and a keyword trigger for prices that answers on its own."""
    return doc(
        [("start", "trigger", {}),
         ("q_name", "ask", {"text": "Your name?", "variable": "name", "validate": "name"}),
         ("thanks", "message", {"text": "Thanks {{name}}"}),
         ("t_menu", "trigger", {"keywords": ["menu"]}),
         ("menu", "message", {"text": "Our menu: cuts, colour, nails."})],
        [("start", "out", "q_name"), ("q_name", "ok", "thanks"), ("t_menu", "out", "menu")],
    )


def svc():
    services = offline_services(profile={"faq": FAQ})
    services.context.handoff_keywords = default_keywords("en")  # as the pipeline gives them (context.py)
    return services


def test_a_request_for_a_person_comes_first():
    results = talk(flow(), ["hi", "menu? prices? get me a manager"], svc())
    assert [e.type for e in results[1].effects] == ["handoff"]
    assert results[1].state["paused"] and results[1].state["waiting"]["node"] == "q_name"


def test_a_keyword_trigger_comes_before_the_pending_question():
    results = talk(flow(), ["hi", "show me the menu?"], svc())
    assert texts(results[1]) == ["Our menu: cuts, colour, nails."]
    assert results[1].state["waiting"] is None and results[1].finished
    note = next(t for t in results[1].trace if t["type"] == "engine")["warnings"][0]
    assert "keyword trigger comes before the pending question 'q_name'" in note


def test_the_trigger_the_form_started_at_does_not_restart_it():
    form = doc(
        [("t_book", "trigger", {"keywords": ["book"]}),
         ("q_day", "ask", {"text": "Which day?", "variable": "day"}),
         ("ok", "message", {"text": "Booked for {{day}}"})],
        [("t_book", "out", "q_day"), ("q_day", "ok", "ok")],
    )
    results = talk(form, ["I want to book", "book me for Friday"], svc())
    assert texts(results[1]) == ["Booked for book me for Friday"]


def test_then_the_faq_answer_inside_the_form_then_validation():
    results = talk(flow(), ["hi", "What are your prices?", "123"], svc())
    assert texts(results[1]) == ["Haircut from 30 EUR.", "Your name?"] and results[1].state["retries"] == {}
    assert results[2].state["retries"] == {"q_name": 1} and texts(results[2]) == ["Please tell me your name."]
