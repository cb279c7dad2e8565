"""An Instagram comment from a person whose DM conversation waits on a question: the comment triggers run
(public reply + one private reply), and the pending DM question is still answered by the next DM."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, events
from tests.helpers.webhooks import IG_SECRET, post

PERSON = "IGSID-300"
ASK_NAME = "What's your name?"
ASK_PHONE = "What's the best phone number to reach you?"


def dm(client: Any, wired: Any, mid: str, text: str) -> list[str]:
    """Send a DM webhook, run the jobs, return the texts the bot sent to the person since."""
    before = len(wired.graph.messages)
    assert post(client, mp.ig_dm_body(IG_ACCOUNT, PERSON, mid, text), IG_SECRET).status_code == 200
    wired.queue.drain()
    return [r.json["message"]["text"] for r in wired.graph.messages[before:] if r.json["recipient"].get("id")]


def comment(client: Any, wired: Any, comment_id: str, text: str) -> None:
    assert post(client, mp.ig_comment_body(IG_ACCOUNT, comment_id, text, PERSON), IG_SECRET).status_code == 200
    wired.queue.drain()


def comment_replies(wired: Any, comment_id: str) -> tuple[list[Any], list[Any]]:
    public = wired.graph.requests_to(f"/{comment_id}/replies", "POST")
    private = [r for r in wired.graph.messages if r.json["recipient"] == {"comment_id": comment_id}]
    return public, private


def conversation(db: Any) -> Any:
    from webapp.models import Contact, Conversation

    db.session.expire_all()
    return db.session.scalar(select(Conversation).join(Contact, Contact.id == Conversation.contact_id)
                             .where(Contact.external_user_id == PERSON))


def comment_flow_without_wait(tenant: Any) -> None:
    """The shop's comment flow answers the comment and ends (no question of its own)."""
    from webapp.extensions import db
    from webapp.models import Flow
    from webapp.services.flows import publish, save_draft

    flow = db.session.scalar(select(Flow).where(Flow.tenant_id == tenant.id, Flow.name == "Instagram comment → DM"))
    document = copy.deepcopy(flow.draft)
    document["nodes"] = [n for n in document["nodes"] if n["id"] in ("start", "reply_comment")]
    document["edges"] = [e for e in document["edges"] if e["target"] == "reply_comment"]
    save_draft(flow, document)
    publish(flow)
    db.session.commit()


def test_comment_during_a_pending_dm_question_runs_the_comment_flow_and_the_question_stays(client, shop, wired, db):
    comment_flow_without_wait(shop.tenant)
    assert dm(client, wired, "mid.c1", "hi")[-1] == ASK_NAME
    pinned = conversation(db).flow_version_id
    comment(client, wired, "C-300", "price?")
    public, private = comment_replies(wired, "C-300")
    assert len(public) == 1 and len(private) == 1
    assert "Thanks for your comment" in private[0].json["message"]["text"]
    assert events(db)[-1].status == "done"
    conv = conversation(db)
    assert conv.flow_version_id == pinned and conv.state["waiting"]["node"] == "ask_name"
    assert dm(client, wired, "mid.c2", "Anna") == [ASK_PHONE]
    assert conversation(db).state["vars"] == {"name": "Anna"}


def test_comment_whose_flow_asks_its_own_question_takes_the_conversation_over(client, shop, wired, db):
    assert dm(client, wired, "mid.c3", "hi")[-1] == ASK_NAME
    comment(client, wired, "C-301", "price?")
    public, private = comment_replies(wired, "C-301")
    assert len(public) == 1 and len(private) == 1
    assert dm(client, wired, "mid.c4", "yes please")[0].startswith("Here's our offer")


def test_a_comment_no_trigger_accepts_leaves_the_dm_question_pending(client, shop, wired, db):
    assert dm(client, wired, "mid.c5", "hi")[-1] == ASK_NAME
    before = conversation(db).state
    comment(client, wired, "C-302", "nice photo")
    assert comment_replies(wired, "C-302") == ([], [])
    assert events(db)[-1].status == "done" and "no published flow" in events(db)[-1].reason
    after = conversation(db).state
    assert after["waiting"] == before["waiting"] and after["vars"] == before["vars"]
    assert dm(client, wired, "mid.c6", "Anna") == [ASK_PHONE]
