"""Handoff both ways through the pipeline: a `handoff` node, a customer asking for a person (English and
Russian phrases; a request wins over the answer to a pending question), a member taking over; and the hand
back: the bot goes on after the handoff node, or asks the pending question again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.fakes.documents import document
from tests.helpers.webhooks import webchat_send as send

NODE_FLOW = document("Handoff", [("start", "trigger", {"channels": ["any"]}),
                                 ("hi", "message", {"text": "Hi there"}),
                                 ("human", "handoff", {"text": "A manager will answer you."}),
                                 ("more", "ask", {"text": "Anything else I can help with?", "variable": "more"}),
                                 ("bye", "message", {"text": "Thanks, bye!"})],
                     [("start", "out", "hi"), ("hi", "out", "human"), ("human", "out", "more"),
                      ("more", "ok", "bye")])
ASK_FLOW = document("Phone", [("start", "trigger", {"channels": ["any"]}),
                              ("phone", "ask", {"text": "Your phone?", "variable": "phone", "validate": "phone",
                                                "region": "US"}),
                              ("thanks", "message", {"text": "Got it: {{phone}}"})],
                    [("start", "out", "phone"), ("phone", "ok", "thanks")])


@pytest.fixture()
def chat(wired, make_tenant):
    """A web-chat channel of a tenant; `.flow(document)` publishes the flow it runs, `.say(text)` is the
    visitor writing (every job run), `.replies()` what the bot and people sent."""
    from webapp.services.channels import add_channel

    def build(language: str = "en", document_: dict | None = None) -> SimpleNamespace:
        from webapp.services.flows import create_flow, publish

        tenant = make_tenant(f"Shop {language}", language=language)
        web = add_channel(tenant, "webchat")
        publish(create_flow(tenant, "Flow", document_ or ASK_FLOW))
        wired.db.session.commit()
        counter = {"n": 0}

        def say(text: str) -> None:
            counter["n"] += 1
            assert send(wired.app.test_client(), web.public_key, text, f"c{counter['n']}").status_code == 202
            wired.queue.drain()

        return SimpleNamespace(tenant=tenant, web=web, say=say, replies=lambda: _replies(wired.db),
                               conv=lambda: _conversation(wired.db), notes=lambda kind: _notes(wired.db, kind))

    return build


def _replies(db) -> list[str]:
    from webapp.models import Message

    db.session.expire_all()
    return [m.text for m in db.session.query(Message).filter_by(direction="out").order_by(Message.id)]


def _conversation(db):
    from webapp.models import Conversation

    db.session.expire_all()
    [conv] = db.session.query(Conversation).all()
    return conv


def _notes(db, kind: str) -> list:
    from webapp.models import Notification

    db.session.expire_all()
    return db.session.query(Notification).filter_by(kind=kind).order_by(Notification.id).all()


def _hand_back(wired, conv) -> None:
    from webapp.services.handoff import hand_back

    hand_back(conv)
    wired.queue.drain()


def test_a_handoff_node_pauses_notifies_and_the_hand_back_goes_on_after_it(wired, chat):
    shop = chat(document_=NODE_FLOW)
    shop.say("hello")
    assert shop.replies() == ["Hi there", "A manager will answer you."]
    conv = shop.conv()
    assert conv.bot_paused and conv.handed_off_at is not None and conv.human_owner is None
    [note] = shop.notes("handoff")
    assert note.payload["conversation_id"] == conv.id
    shop.say("still there?")
    assert len(shop.replies()) == 2  # a person answers now
    _hand_back(wired, conv)
    conv = shop.conv()
    assert not conv.bot_paused and conv.handed_off_at is None
    assert shop.replies()[2:] == ["Anything else I can help with?"]  # the node's next step, at once
    shop.say("no, thanks")
    assert shop.replies()[3:] == ["Thanks, bye!"]


@pytest.mark.parametrize(("language", "request_text", "expected"), [
    ("en", "Can I talk to a HUMAN please", "I'm passing you to a manager — they will reply here soon."),
    ("ru", "Позовите оператора, пожалуйста", "Передаю вас менеджеру — он скоро ответит здесь."),
])
def test_asking_for_a_person_wins_over_the_pending_answer_and_the_hand_back_asks_again(
        wired, chat, language, request_text, expected):
    shop = chat(language)
    shop.say("hi")
    assert shop.replies() == ["Your phone?"]
    shop.say(request_text)  # not a phone: without the request it would be re-asked
    assert shop.replies()[1:] == [expected]
    conv = shop.conv()
    assert conv.bot_paused and conv.state["paused"] and conv.state["waiting"]["node"] == "phone"
    [note] = shop.notes("handoff")
    assert note.payload["conversation_id"] == conv.id
    _hand_back(wired, conv)
    assert shop.replies()[2:] == ["Your phone?"]  # the pending question, asked again
    shop.say("+1 202 555 0143")
    assert shop.replies()[3:] == ["Got it: +12025550143"]


def test_a_request_for_a_person_beats_another_flows_keyword_trigger(wired, chat):
    """Precedence: a request for a person comes before keyword triggers, also another flow's: the form that
    waits hands off and keeps its question, it is not left for the flow whose keyword is "manager"."""
    from webapp.services.flows import create_flow, publish

    shop = chat()
    publish(create_flow(shop.tenant, "Managers", document("Managers", [
        ("t", "trigger", {"keywords": ["manager"], "match": "contains"}),
        ("m", "message", {"text": "Our managers: Ann and Bob."})], [("t", "out", "m")])))
    wired.db.session.commit()
    shop.say("hi")
    shop.say("a manager please")
    assert shop.replies() == ["Your phone?", "I'm passing you to a manager — they will reply here soon."]
    conv = shop.conv()
    assert conv.bot_paused and conv.state["waiting"]["node"] == "phone"


def test_the_tenants_own_phrases_replace_the_defaults(wired, chat):
    shop = chat("ru")
    shop.tenant.settings = {**(shop.tenant.settings or {}), "handoff_keywords": ["позвать шефа"]}
    wired.db.session.commit()
    shop.say("Привет, оператор")  # a default phrase, replaced: the flow starts
    assert shop.replies() == ["Your phone?"]
    shop.say("можно позвать шефа?")
    assert shop.replies()[1:] == ["Передаю вас менеджеру — он скоро ответит здесь."]
    assert shop.conv().bot_paused


def test_a_member_takes_over_while_a_question_waits_and_hands_back(wired, chat):
    from webapp.services.handoff import take_over

    shop = chat()
    shop.say("hi")
    conv = shop.conv()
    take_over(conv, "anna@shop.example")
    shop.say("+1 202 555 0143")  # the bot stays silent: stored for the person
    conv = shop.conv()
    assert shop.replies() == ["Your phone?"]
    assert conv.human_owner == "anna@shop.example" and conv.waiting_since is not None
    [waiting] = shop.notes("customer_waiting")
    assert (waiting.payload["conversation_id"], waiting.payload["human_owner"]) == (conv.id, "anna@shop.example")
    _hand_back(wired, conv)
    conv = shop.conv()
    assert conv.human_owner is None and conv.waiting_since is None and not conv.bot_paused
    assert shop.replies()[1:] == ["Your phone?"]


def test_a_message_before_the_hand_back_step_is_answered_once(wired, chat):
    """The customer writes between the hand back and its job: that message's turn goes on, and the job,
    running later, does not ask again."""
    from connectors.runtime.jobs import hand_back as hand_back_job
    from webapp.models.base import utcnow
    from webapp.services.handoff import take_over

    shop = chat()
    shop.say("hi")
    take_over(shop.conv(), "anna@shop.example")
    handed_back_at = utcnow().timestamp()
    conv = shop.conv()
    conv.bot_paused = False  # handed back; its job has not run yet
    wired.db.session.commit()
    shop.say("+1 202 555 0143")
    assert shop.replies() == ["Your phone?", "Got it: +12025550143"]
    hand_back_job(conv.id, handed_back_at)
    assert shop.replies() == ["Your phone?", "Got it: +12025550143"]
