"""After a flow ends (#19): the next message goes to a keyword trigger, else a confident FAQ answer, else the
flow; a completed form does not restart by itself unless the flow says after how long."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flows import load_flow, validate
from flows.engine import step
from flows.services import offline_services
from flows.turn import TurnEvent
from tests.flows.helpers import doc, linear, talk, texts
from tests.helpers.catalog import gettext

FAQ = [{"q": "How much does a haircut cost?", "a": "A haircut starts at 30 EUR."}]
AT = datetime(2026, 1, 5, 12, tzinfo=UTC)


def form(**settings: object) -> dict:
    document = doc(
        [("start", "trigger", {}),
         ("q_name", "ask", {"text": "Your name?", "variable": "name", "validate": "name"}),
         ("thanks", "message", {"text": "Thanks {{name}}"}),
         ("done", "end", {}),
         ("t_promo", "trigger", {"keywords": ["promo"]}),
         ("promo", "message", {"text": "10% off this week."})],
        [("start", "out", "q_name"), ("q_name", "ok", "thanks"), ("thanks", "out", "done"),
         ("t_promo", "out", "promo")],
    )
    return {**document, **settings}


def svc():
    return offline_services(profile={"faq": FAQ})


def notes(result) -> list[str]:
    return [w for t in result.trace if t["type"] == "engine" for w in t["warnings"]]


def test_a_question_after_the_form_gets_the_faq_answer_not_the_form_again():
    results = talk(form(), ["hi", "Ann", "How much is a haircut?"], svc())
    assert results[1].finished and results[1].state["ended"]["form"] is True
    after = results[2]
    assert texts(after) == ["A haircut starts at 30 EUR."]
    assert after.finished and after.state_kept and after.state["vars"] == {"name": "Ann"}
    assert "after the flow ended: no keyword trigger matched; answered from the FAQ" in notes(after)[0]


def test_anything_else_is_not_a_restart_but_an_offer_of_a_person():
    results = talk(form(), ["hi", "Ann", "ok bye"], svc())
    [reply] = results[2].outbound
    assert "get back to you soon" in reply.text and reply.buttons == ["Talk to a person"]
    assert results[2].state_kept and "restart_after_minutes not set" in notes(results[2])[0]


def test_the_tenants_fallback_text_and_language_are_used():
    services = offline_services(language="ru", profile={"faq": FAQ}, translate=gettext("ru"))
    services.context.fallback_text = "Мы уже записали вас, {{name}}."
    results = talk(form(), ["hi", "Анна", "ладно"], services)
    assert texts(results[2]) == ["Мы уже записали вас, Анна."]
    assert results[2].outbound[0].buttons == ["Позовите человека"]


def test_a_keyword_trigger_comes_first_after_the_end():
    results = talk(form(), ["hi", "Ann", "any promo?"], svc())
    assert texts(results[2]) == ["10% off this week."] and results[2].trace[0]["node_id"] == "t_promo"


def test_the_flow_restarts_after_its_restart_time():
    flow = load_flow(form(restart_after_minutes=30))
    services = svc()
    state = None
    for text in ("hi", "Ann"):
        state = json.loads(json.dumps(step(flow, state, TurnEvent("dm", "test", text, at=AT), services).state))
    soon = step(flow, state, TurnEvent("dm", "test", "hello", at=AT + timedelta(minutes=10)), services)
    assert "get back to you" in soon.outbound[0].text and "restart_after_minutes is 30" in notes(soon)[0]
    later = step(flow, soon.state, TurnEvent("dm", "test", "hello", at=AT + timedelta(minutes=31)), services)
    assert texts(later) == ["Your name?"] and later.state["vars"] == {} and not later.state_kept
    assert "31 min passed" in notes(later)[0]


def test_a_flow_without_questions_is_not_a_form_and_answers_every_time():
    results = talk(linear(("hello", "message", {"text": "We are open 10-20."})), ["hi", "hi again"], svc())
    assert texts(results[1]) == ["We are open 10-20."]


def test_a_run_that_asked_nothing_does_not_hold_the_next_message_back():
    """A keyword branch that only replied is not a completed form, though the flow has an ask node: the
    next message starts the flow (its form), it does not get "we have your request"."""
    results = talk(form(), ["promo?", "hello"], svc())
    assert results[0].finished and results[0].state["ended"]["form"] is False
    assert texts(results[1]) == ["Your name?"]
    again = talk(form(), ["promo?", "hi", "Ann", "hello"], svc())
    assert again[2].state["ended"]["form"] is True and "get back to you" in again[3].outbound[0].text


def test_the_setting_is_validated():
    assert validate(form(restart_after_minutes=0)) == []
    problems = validate(form(restart_after_minutes=-5))
    assert problems and problems[0].code == "bad_document"
