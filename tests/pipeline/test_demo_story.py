"""The demo web chat as a new user tries it (#19): a question in the middle of the lead form gets the FAQ's
answer and the form's question again; after the form completes, "How much is a haircut?" is answered from
the FAQ instead of restarting the form, and the routing decision is kept with the conversation."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.helpers.webhooks import webchat_send as send

GREETING = "Thanks for reaching out"
HAIRCUT = "A haircut starts at 30 EUR."


def _demo(db):
    """The demo tenant `make run` seeds, its web chat, and its lead form as the flow the chat starts."""
    from webapp.models import Channel, Flow, Tenant
    from webapp.services.demo import seed_demo

    result = seed_demo()
    tenant = db.session.get(Tenant, result["tenant"]["id"])
    web = db.session.scalar(select(Channel).where(Channel.tenant_id == tenant.id, Channel.type == "webchat"))
    lead_form = db.session.scalar(select(Flow).where(Flow.tenant_id == tenant.id, Flow.name == "Lead capture"))
    # the story is about the lead form, whichever flow the demo starts: the default and first in the tenant's
    # order (a new conversation starts at the first catch-all trigger; the demo's AI assistant has one too)
    tenant.default_flow_id = lead_form.id
    lead_form.position = min(f.position for f in db.session.scalars(
        select(Flow).where(Flow.tenant_id == tenant.id))) - 1
    db.session.commit()
    return tenant, web


def _say(client, wired, key: str, text: str, n: int) -> list[str]:
    """Post one visitor message, run the queue, return the bot's replies to it."""
    before = client.get(f"/webchat/{key}/messages?visitor_id=story").get_json()["messages"]
    assert send(client, key, text, f"m{n}", visitor="story").status_code == 202
    wired.queue.drain()
    after = client.get(f"/webchat/{key}/messages?visitor_id=story").get_json()["messages"]
    return [m["text"] for m in after[len(before):] if m["from"] == "bot"]


def test_demo_chat_answers_questions_inside_and_after_the_lead_form(client, wired, db):
    from webapp.models import Conversation, Lead

    tenant, web = _demo(db)
    key = web.public_key
    first = _say(client, wired, key, "Hi", 1)
    assert GREETING in first[0] and first[-1] == "What's your name?"

    inside = _say(client, wired, key, "How much is a haircut?", 2)
    assert inside == [HAIRCUT, "What's your name?"]  # answered, then asked again
    conv = db.session.scalar(select(Conversation).where(Conversation.tenant_id == tenant.id))
    assert conv.state["retries"] == {}  # not a failed attempt

    assert _say(client, wired, key, "Anna", 3) == ["What's the best phone number to reach you?"]
    assert _say(client, wired, key, "+371 2012 3456", 4)[-1].startswith("Anna, we'll call you at")
    done = _say(client, wired, key, "Yes", 5)
    assert done == ["Thank you, Anna! We'll call you soon."]
    assert db.session.scalar(select(Lead).where(Lead.tenant_id == tenant.id)) is not None

    after = _say(client, wired, key, "How much is a haircut?", 6)
    assert after == [HAIRCUT]  # the FAQ's answer, not "Hi! Thanks for reaching out…" again
    db.session.expire_all()
    conv = db.session.get(Conversation, conv.id)
    assert conv.state["finished"] is True and conv.state["vars"]["name"] == "Anna"
    assert conv.state["trace_reason"].startswith("after the flow ended")

    hello = _say(client, wired, key, "ok, see you", 7)
    assert len(hello) == 1 and GREETING not in hello[0]  # a completed form does not restart by itself
    assert "get back to you" in hello[0]

    # the conversation page says why each reply was sent, once per turn, from the trace
    from tests.helpers.web import login
    from webapp.services.demo import DEMO_OWNER

    login(client, *DEMO_OWNER)
    page = client.get(f"/conversations/{conv.id}").get_data(as_text=True)
    notes = re.findall(r'<details[^>]*data-testid="why">(.*?)</details>', page, re.S)
    assert len(notes) == 7  # one per visitor message
    assert "answered from the FAQ" in notes[1] and "not counted as a failed attempt" in notes[1]
    assert "after the flow ended" in notes[5] and "answered from the FAQ" in notes[5]
    assert "the completed form is not restarted" in notes[6]


def test_another_flows_keyword_trigger_comes_before_the_pending_question(client, wired, db):
    from webapp.models import Conversation
    from webapp.services.flows import create_flow, publish

    tenant, web = _demo(db)
    promo = {"schema_version": 1, "name": "Promo", "nodes": [
        {"id": "t", "type": "trigger", "data": {"keywords": ["promo"]}},
        {"id": "m", "type": "message", "data": {"text": "10% off your first visit."}}],
        "edges": [{"id": "e1", "source": "t", "sourceHandle": "out", "target": "m"}]}
    publish(create_flow(tenant, "Promo", promo))
    db.session.commit()
    key = web.public_key
    assert _say(client, wired, key, "Hi", 1)[-1] == "What's your name?"
    assert _say(client, wired, key, "any promo today?", 2) == ["10% off your first visit."]
    conv = db.session.scalar(select(Conversation).where(Conversation.tenant_id == tenant.id))
    assert conv.state["trace_reason"].startswith("a keyword trigger comes before the pending question")
    assert conv.state["waiting"] is None
    again = _say(client, wired, key, "Hello", 3)  # the promo was no form: the default flow starts
    assert GREETING in again[0] and again[-1] == "What's your name?"
