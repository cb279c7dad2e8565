"""Questions inside a form (#19): an answer that fails validation but is a question the business can answer
gets its answer and the form's question again, without counting as a failed attempt; switchable per node."""

from __future__ import annotations

from flows.services import FakeLLM, offline_services
from tests.flows.helpers import linear, talk, texts
from tests.helpers.catalog import gettext

FAQ = [{"q": "How much does a haircut cost?", "a": "A haircut starts at 30 EUR."},
       {"q": "Сколько стоит стрижка?", "a": "Стрижка — от 30 евро."}]
PROFILE = {"prices": "Haircut from 30 EUR; manicure 25 EUR", "address": "12 Main Street, Riga", "faq": FAQ}


def form(**ask: object) -> dict:
    return linear(
        ("q_phone", "ask", {"text": "Your phone?", "variable": "phone", "validate": "phone", "max_retries": 1,
                            **ask}),
        ("thanks", "message", {"text": "Thanks, {{phone}}"}),
    )


def test_a_faq_question_is_answered_and_the_question_asked_again_without_counting_a_try():
    svc = offline_services(profile=PROFILE)
    results = talk(form(), ["hi", "How much is a haircut?", "how much is a haircut?", "+1 202 555 0143"], svc)
    assert texts(results[1]) == ["A haircut starts at 30 EUR.", "Your phone?"]
    assert results[1].state["retries"] == {} and results[1].state["waiting"]["node"] == "q_phone"
    assert texts(results[2]) == ["A haircut starts at 30 EUR.", "Your phone?"]  # max_retries 1: never failed
    assert texts(results[3]) == ["Thanks, +12025550143"]
    warning = results[1].trace[0]["warnings"][-1]
    assert "answered from the FAQ" in warning and "not counted as a failed attempt" in warning


def test_in_russian_too_and_a_wrong_answer_still_counts():
    svc = offline_services(language="ru", profile=PROFILE, translate=gettext("ru"))
    results = talk(form(), ["привет", "сколько стоит стрижка?", "12", "13"], svc)
    assert texts(results[1]) == ["Стрижка — от 30 евро.", "Your phone?"]
    assert results[2].state["retries"] == {"q_phone": 1} and "номер" in texts(results[2])[0]
    assert results[3].trace[0]["port"] == "failed"


def test_switched_off_per_node_the_question_is_an_invalid_answer():
    svc = offline_services(profile=PROFILE)
    results = talk(form(answer_questions=False), ["hi", "How much is a haircut?"], svc)
    assert "phone number" in texts(results[1])[0] and len(texts(results[1])) == 1
    assert results[1].state["retries"] == {"q_phone": 1}


def test_without_a_faq_match_the_form_re_asks_as_before():
    svc = offline_services(profile=PROFILE)
    results = talk(form(), ["hi", "Do you sell gift cards?"], svc)
    assert "phone number" in texts(results[1])[0] and results[1].state["retries"] == {"q_phone": 1}


def test_with_a_model_its_judgement_answers_and_counts_its_usage():
    llm = FakeLLM(data={"is_question": True, "reply": "Manicure is 25 EUR."})
    svc = offline_services(profile=PROFILE, llm=llm)
    results = talk(form(), ["hi", "And a manicure, what does it cost?"], svc)
    assert texts(results[1]) == ["Manicure is 25 EUR.", "Your phone?"] and results[1].state["retries"] == {}
    assert [e.type for e in results[1].effects] == ["llm_usage"]
    request = llm.calls[0]
    assert request["response_schema"]["required"] == ["is_question", "reply"]
    assert 'was asked: "Your phone?"' in request["messages"][0]["content"]


def test_the_models_no_is_a_normal_re_ask_and_a_typo_costs_no_call():
    llm = FakeLLM(data={"is_question": False, "reply": ""})
    svc = offline_services(profile=PROFILE, llm=llm)
    results = talk(form(max_retries=3), ["hi", "Is it raining?", "555"], svc)
    assert results[1].state["retries"] == {"q_phone": 1} and len(llm.calls) == 1
    assert [e.type for e in results[1].effects] == ["llm_usage"]  # the call is counted all the same
    assert results[2].state["retries"] == {"q_phone": 2} and len(llm.calls) == 1  # "555": not a question


def test_a_model_answer_with_an_invented_price_is_replaced():
    llm = FakeLLM(data={"is_question": True, "reply": "Colouring is 80 EUR."})
    svc = offline_services(profile=PROFILE, llm=llm)
    results = talk(form(), ["hi", "How much is colouring?"], svc)
    said = results[1].outbound
    assert "don't know" in said[0].text and said[0].buttons == ["Talk to a person"]
    assert said[1].text == "Your phone?"
    assert any("'80 EUR'" in w for w in results[1].trace[0]["warnings"])


def _free_text_form(kind: str) -> dict:
    return linear(("q", "ask", {"text": "What would you like?" if kind == "text" else "Your name?",
                                "variable": "v", "validate": kind}),
                  ("thanks", "message", {"text": "Noted: {{v}}"}))


def test_a_question_where_free_text_or_a_name_is_asked_is_answered_first():
    svc = offline_services(profile=PROFILE)
    results = talk(_free_text_form("text"), ["hi", "How much is a haircut?", "A haircut on Friday"], svc)
    assert texts(results[1]) == ["A haircut starts at 30 EUR.", "What would you like?"]
    assert texts(results[2]) == ["Noted: A haircut on Friday"]
    results = talk(_free_text_form("name"), ["hi", "how much is a haircut", "Will"], svc)
    assert texts(results[1]) == ["A haircut starts at 30 EUR.", "Your name?"]
    assert texts(results[2]) == ["Noted: Will"]


def test_an_unanswered_question_is_still_free_text_but_not_a_name():
    svc = offline_services(profile=PROFILE)
    [_, free] = talk(_free_text_form("text"), ["hi", "Can you do it on Friday?"], svc)
    assert texts(free) == ["Noted: Can you do it on Friday?"]
    [_, name] = talk(_free_text_form("name"), ["hi", "Do you sell gift cards?"], svc)
    assert texts(name) == ["Please tell me your name."] and name.state["retries"] == {"q": 1}
