"""Hand-back: after a `handoff` node paused the bot, a manager's "Resume bot" makes the bot answer again."""

from __future__ import annotations

from tests.fakes.documents import document
from tests.helpers.web import csrf_token
from tests.helpers.webhooks import webchat_send as send

HANDOFF_FLOW = document("Handoff", [("start", "trigger", {"channels": ["any"]}),
                                    ("hi", "message", {"text": "Hi there"}),
                                    ("human", "handoff", {"text": "A manager will answer you."})],
                        [("start", "out", "hi"), ("hi", "out", "human")])


def _replies(db) -> list[str]:
    from webapp.models import Message

    db.session.expire_all()
    return [m.text for m in db.session.query(Message).filter_by(direction="out").order_by(Message.id)]


def test_resume_bot_after_a_handoff_node_answers_the_next_message(wired, make_tenant, client, db):
    from tests.helpers.web import login
    from webapp.models import Conversation
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish

    tenant = make_tenant("Handoff shop")
    web = add_channel(tenant, "webchat")
    publish(create_flow(tenant, "Handoff", HANDOFF_FLOW))
    db.session.commit()
    send(client, web.public_key, "hello", "c1")
    wired.queue.drain()
    assert _replies(db) == ["Hi there", "A manager will answer you."]
    [conv] = db.session.query(Conversation).all()
    assert conv.bot_paused and conv.state["paused"]
    send(client, web.public_key, "anyone?", "c2")
    wired.queue.drain()
    assert len(_replies(db)) == 2  # paused: the manager answers now
    login(client, tenant.owner_email, tenant.owner_password)
    resp = client.post(f"/conversations/{conv.id}/bot", data={
        "paused": "0", "csrf_token": csrf_token(client, f"/conversations/{conv.id}")})
    assert resp.status_code == 302
    send(client, web.public_key, "back to the bot", "c3")
    wired.queue.drain()
    assert _replies(db)[2:] == ["Hi there", "A manager will answer you."]  # before the fix: no reply at all
