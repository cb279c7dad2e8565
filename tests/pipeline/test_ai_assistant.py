"""The flagship "AI assistant" template (#19), the demo tenant's default flow: it answers from the business
profile, prices and FAQ (the model when one is configured, the FAQ without one), notices when the customer
wants to book, takes the name and phone (the model's extraction first, `ask` nodes for what is missing),
confirms, saves the lead, notifies the team and hands over to a person when it cannot answer.

Its first reply to "How much is a haircut?" in the demo, as `make run` starts it (no model), is the FAQ's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from flows import load_flow
from flows.engine import step
from flows.services import FakeLLM, offline_services
from flows.templates import load_template
from flows.turn import TurnEvent
from tests.helpers.webhooks import webchat_send as send
from webapp.services.demo import DEMO_PROFILE

HAIRCUT = "A haircut starts at 30 EUR."
HAIRCUT_RU = "Стрижка — от 30 евро."
AT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def talk(key: str, messages: list[str], *, language: str = "en", llm: FakeLLM | None = None,
         contact: dict | None = None) -> list:
    """Run the template turn by turn like the pipeline does; one StepResult per message."""
    flow = load_flow(load_template(key))
    services = offline_services(language=language, channel="webchat", profile=DEMO_PROFILE, llm=llm)
    state, results = None, []
    for text in messages:
        result = step(flow, state, TurnEvent("webchat", "webchat", text, {}, contact or {}, AT), services)
        assert result.error is None, result.trace
        results.append(result)
        state = result.state
    return results


def texts(result) -> list[str]:
    return [m.text for m in result.outbound]


def effects(results) -> list[str]:
    return [e.type for r in results for e in r.effects if e.type != "llm_usage"]


# --- the engine, offline (no model: `make run` as it starts) -------------------------------------------------

def test_offline_the_first_reply_to_a_price_question_is_the_faqs_answer():
    [first] = talk("ai_assistant", ["How much is a haircut?"])
    assert texts(first) == [HAIRCUT]
    assert first.state["waiting"]["node"] == "listen" and not first.finished  # ready for the next question
    ports = {t.get("node_id"): t.get("port") for t in first.trace}
    assert ports["answer"] == "fallback" and ports["known"] == "answered"
    [ru] = talk("ai_assistant_ru", ["Сколько стоит стрижка?"], language="ru")
    assert texts(ru) == [HAIRCUT_RU]


def test_offline_it_answers_books_confirms_saves_notifies_and_answers_again_after_the_form():
    results = talk("ai_assistant", ["Hi!", "Where are you located?", "I'd like to book", "How much is a haircut?",
                                    "Anna", "12345", "+371 2012 3456", "Yes", "How much is a haircut?",
                                    "ok, thanks", "I want to come on Friday, can you book me?"])
    hi, where, book, inside, name, bad_phone, phone, yes, after, thanks, again = results
    assert texts(hi)[0].startswith("Hi! 👋") and hi.outbound[0].buttons == ["I'd like to book", "Talk to a person"]
    assert texts(where) == ["12 Main Street, Riga — next to the central park."]
    assert texts(book) == ["Happy to book you in! 📅", "What's your name?"]  # buying intent noticed
    assert texts(inside) == [HAIRCUT, "What's your name?"]  # a question inside the form: answered, asked again
    assert texts(name) == ["What's the best phone number to reach you?"]
    assert "valid phone number" in texts(bad_phone)[0]  # validated and re-asked
    assert texts(phone) == [
        "Anna, we'll call you at +37120123456 to arrange your visit. Is that right?"]
    assert texts(yes) == ["Thank you, Anna! We'll call you soon. If you have any other questions, just ask."]
    assert yes.finished
    assert effects(results) == ["lead", "notify"]
    lead = next(e for e in yes.effects if e.type == "lead")
    assert lead.payload["fields"] == {"name": "Anna", "phone": "+37120123456"}
    assert lead.payload["source"] == "AI assistant"
    notify = next(e for e in yes.effects if e.type == "notify")
    assert notify.payload["text"] == "New lead from the AI assistant: Anna, +37120123456 (webchat)"

    assert texts(after) == [HAIRCUT]  # the FAQ's answer after the form, not the form again
    assert after.state_kept and "answered from the FAQ" in after.trace[0]["warnings"][0]
    assert texts(thanks)[0].startswith("You're welcome!")  # a completed form does not restart by itself
    assert texts(again) == ["Happy to book you in! 📅", "What's your name?"]  # asking to book again does


def test_offline_a_greeting_or_thanks_with_a_question_gets_the_answer():
    """Only a bare greeting or thanks gets the small talk; with a question in it, the question is answered."""
    hi, thanks = talk("ai_assistant", ["Hi, how much is a haircut", "thanks, and how much is a haircut"])
    assert texts(hi) == [HAIRCUT] and texts(thanks) == [HAIRCUT]
    [ru] = talk("ai_assistant_ru", ["Добрый день, сколько стоит стрижка"], language="ru")
    assert texts(ru) == [HAIRCUT_RU]
    bare = talk("ai_assistant", ["Hello there", "Thank you very much!"])
    assert texts(bare[0])[0].startswith("Hi! 👋") and texts(bare[1]) != [HAIRCUT]


def test_offline_a_question_it_cannot_answer_goes_to_a_person():
    [unknown] = talk("ai_assistant", ["Do you trim beards?"])
    assert texts(unknown) == ["Thanks for your message! A manager will reply soon."]
    assert [e.type for e in unknown.effects] == ["handoff"] and unknown.state["paused"]
    [person] = talk("ai_assistant", ["Can I talk to a person?"])
    assert [e.type for e in person.effects] == ["handoff"]  # the engine's request for a person


def test_offline_the_russian_twin_books_in_russian():
    results = talk("ai_assistant_ru", ["Здравствуйте", "Хочу записаться", "Анна", "+7 912 345 67 89", "Да",
                                       "Сколько стоит стрижка?", "спасибо"], language="ru")
    hello, book, name, phone, yes, after, thanks = results
    assert texts(hello)[0].startswith("Здравствуйте! 👋")
    assert texts(book) == ["С радостью запишу вас! 📅", "Как вас зовут?"]
    assert texts(phone) == ["Анна, мы позвоним вам по номеру +79123456789, чтобы договориться о визите. Всё верно?"]
    assert texts(yes)[0].startswith("Спасибо, Анна!")
    assert effects(results) == ["lead", "notify"]
    assert texts(after) == [HAIRCUT_RU] and texts(thanks)[0].startswith("Пожалуйста!")


def test_a_wrong_confirmation_asks_for_both_details_again():
    results = talk("ai_assistant", ["book", "Anna", "+371 2012 3456", "No", "Anne", "+371 2012 3457", "Yes"])
    assert texts(results[3]) == ["No problem, let's try again.", "What's your name?"]
    assert texts(results[4]) == ["What's the best phone number to reach you?"]  # the old phone is not kept
    lead = next(e for e in results[-1].effects if e.type == "lead")
    assert lead.payload["fields"] == {"name": "Anne", "phone": "+37120123457"}


# --- the engine with a (fake) model -------------------------------------------------------------------------

def test_with_a_model_the_ai_answers_and_its_extraction_skips_what_the_customer_already_said():
    llm = FakeLLM(data={"reply": "A haircut starts at 30 EUR. Shall I book you in?", "name": "Anna",
                        "intent": "book"})
    first, phone, yes = talk("ai_assistant", ["Hi, I'm Anna. How much is a haircut? Friday would suit me",
                                              "+371 2012 3456", "Yes"], llm=llm)
    # the model's (grounded: 30 EUR is in the prices) answer, then the booking without asking the name again
    assert texts(first) == ["A haircut starts at 30 EUR. Shall I book you in?", "Happy to book you in! 📅",
                            "What's the best phone number to reach you?"]
    assert first.state["vars"]["name"] == "Anna"
    schema = llm.calls[0]["response_schema"]["properties"]
    assert {"reply", "name", "phone", "intent"} <= set(schema)
    assert texts(phone)[0].startswith("Anna, we'll call you at +37120123456")
    assert [e.type for e in yes.effects] == ["lead", "notify"]


def test_with_a_model_a_booking_keyword_still_gets_its_extraction():
    """"Book me" matches the booking keywords, yet the model still reads the name and phone in the message:
    the confirmation comes at once instead of asking for what the customer already wrote."""
    llm = FakeLLM(data={"reply": "Of course!", "name": "Anna", "phone": "+371 2012 3456", "intent": "book"})
    first, yes = talk("ai_assistant", ["I'm Anna, +371 2012 3456, please book me for Friday", "Yes"], llm=llm)
    assert texts(first) == ["Of course!",
                            "Anna, we'll call you at +37120123456 to arrange your visit. Is that right?"]
    assert [e.type for e in yes.effects] == ["lead", "notify"]
    [offline] = talk("ai_assistant", ["I'm Anna, please book me"])
    assert texts(offline) == ["Happy to book you in! 📅", "What's your name?"]  # no model: the questions


def test_with_a_model_an_invented_price_is_replaced_and_a_person_offered():
    llm = FakeLLM(data={"reply": "A beard trim is 45 EUR.", "intent": "question"})
    [first] = talk("ai_assistant", ["How much is a beard trim?"], llm=llm)
    assert len(first.outbound) == 1 and "45 EUR" not in texts(first)[0]
    assert texts(first)[0].startswith("I don't know that for sure")
    assert first.outbound[0].buttons == ["Talk to a person"]
    assert first.state["waiting"]["node"] == "listen"


def test_with_a_model_that_fails_it_answers_from_the_faq():
    [first] = talk("ai_assistant", ["How much is a haircut?"], llm=FakeLLM(fail="timeout"))
    assert texts(first) == [HAIRCUT] and first.state["waiting"]["node"] == "listen"


# --- the pipeline: the demo web chat ------------------------------------------------------------------------

def _demo_chat(client, wired, db):
    from webapp.models import Channel, Flow, Tenant
    from webapp.services.demo import seed_demo

    result = seed_demo()
    tenant = db.session.get(Tenant, result["tenant"]["id"])
    default = db.session.get(Flow, tenant.default_flow_id)
    assert default.name == "AI assistant"
    web = db.session.scalar(select(Channel).where(Channel.tenant_id == tenant.id, Channel.type == "webchat"))
    n = 0

    def say(text: str) -> list[str]:
        nonlocal n
        n += 1
        url = f"/webchat/{web.public_key}/messages?visitor_id=assistant"
        before = client.get(url).get_json()["messages"]
        assert send(client, web.public_key, text, f"a{n}", visitor="assistant").status_code == 202
        wired.queue.drain()
        after = client.get(url).get_json()["messages"]
        return [m["text"] for m in after[len(before):] if m["from"] == "bot"]

    return tenant, say


def test_the_demo_answers_a_price_question_from_the_faq_with_no_model(client, wired, db):
    from webapp.models import Conversation, Lead

    tenant, say = _demo_chat(client, wired, db)
    assert say("How much is a haircut?") == [HAIRCUT]
    assert say("I'd like to book") == ["Happy to book you in! 📅", "What's your name?"]
    assert say("Anna") == ["What's the best phone number to reach you?"]
    assert say("+371 2012 3456")[-1].startswith("Anna, we'll call you at")
    assert say("Yes")[0].startswith("Thank you, Anna!")
    lead = db.session.scalar(select(Lead).where(Lead.tenant_id == tenant.id))
    assert lead is not None and lead.fields == {"name": "Anna", "phone": "+37120123456"}
    assert say("How much is a haircut?") == [HAIRCUT]
    conv = db.session.scalar(select(Conversation).where(Conversation.tenant_id == tenant.id))
    db.session.refresh(conv)
    assert conv.state["trace_reason"].startswith("after the flow ended")


def test_the_demo_with_a_model_answers_with_it(client, wired, db, openai_fake, monkeypatch):
    monkeypatch.setitem(wired.app.config, "OPENAI_API_KEY", "sk-test")
    monkeypatch.setitem(wired.app.config, "OPENAI_BASE_URL", openai_fake.url)
    openai_fake.reply_json = {"reply": "Haircuts start at 30 EUR — shall I book you in?", "name": None,
                              "phone": None, "intent": "question"}
    _, say = _demo_chat(client, wired, db)
    assert say("How much is a haircut?") == ["Haircuts start at 30 EUR — shall I book you in?"]
    request = openai_fake.requests[-1]
    assert request["response_format"]["type"] == "json_schema"
    assert "Haircut from 30 EUR" in request["messages"][0]["content"]  # the prices it answers from


def test_with_a_model_a_form_without_an_llm_node_gets_its_judgement(client, wired, db, openai_fake, monkeypatch):
    """A question in the middle of the Lead capture form (no `llm` node): the tenant's model judges it and
    answers, and the form asks its question again, no attempt counted."""
    from webapp.models import Flow

    monkeypatch.setitem(wired.app.config, "OPENAI_API_KEY", "sk-test")
    monkeypatch.setitem(wired.app.config, "OPENAI_BASE_URL", openai_fake.url)
    tenant, say = _demo_chat(client, wired, db)
    lead_capture = db.session.scalar(select(Flow).where(Flow.tenant_id == tenant.id, Flow.name == "Lead capture"))
    tenant.default_flow_id = lead_capture.id  # "Make default": its catch-all trigger now answers first
    db.session.commit()
    assert say("hello")[-1] == "What's your name?"
    assert say("Anna") == ["What's the best phone number to reach you?"]
    openai_fake.reply_json = {"is_question": True, "reply": "Yes, there is free parking behind the salon."}
    assert say("Do you have parking nearby?") == ["Yes, there is free parking behind the salon.",
                                                  "What's the best phone number to reach you?"]
    request = openai_fake.requests[-1]
    assert request["response_format"]["json_schema"]["schema"]["required"] == ["is_question", "reply"]
    assert say("+371 2012 3456")[-1].startswith("Anna, we'll call you at")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_template_is_listed_in_both_languages(language):
    from flows.templates import list_templates

    listed = {t["key"]: t for t in list_templates(language)}
    key = "ai_assistant" if language == "en" else "ai_assistant_ru"
    assert listed[key]["niche"] == "general" and listed[key]["language"] == language
