"""A reply whose delivery is unknown (the request left, no answer came) is its own state: never re-sent on our
own, shown on the conversation and to the owner, settled by a later WhatsApp status, sent again only when a
person asks and accepts that it may duplicate."""

from __future__ import annotations

import re

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import WA_PHONE_ID, events, outbound
from tests.helpers.webhooks import META_SECRET, dm, post


def _slow_channel(app, monkeypatch, fake, path: str) -> None:
    """The channel receives the request (and acts on it) but answers after our timeout."""
    monkeypatch.setitem(app.config, "CONNECTOR_TIMEOUT", 0.3)
    fake.delay(1.0, times=1, path=path)


def test_a_timed_out_send_is_unknown_and_never_sent_again_on_our_own(client, shop, wired, db, app, monkeypatch):
    from connectors.pipeline.delivery import deliver_event_messages
    from webapp.models import Notification

    _slow_channel(app, monkeypatch, wired.graph, "/messages")
    dm(client, "mid.u1", sender="IGSID-u1")
    wired.queue.drain()
    first, second = outbound(db, shop.ig.id)
    assert first.delivery_status == "unknown" and "outcome unknown" in first.error
    assert second.delivery_status == "sent"
    [event] = events(db)
    assert event.status == "done" and "1 with an unknown outcome" in event.reason
    received = len(wired.graph.messages)
    assert received == 2  # the channel did get the first reply: repeating it would duplicate it
    deliver_event_messages(event.id)  # what a retried event does: unknown replies are left alone
    assert len(wired.graph.messages) == received
    [note] = db.session.query(Notification).filter_by(kind="delivery_unknown").all()
    assert f"message {first.id}" in note.body


def test_the_conversation_shows_it_and_send_again_needs_the_duplicate_warning_ticked(
        client, shop, wired, db, app, monkeypatch):
    from tests.helpers.web import csrf_token, login

    _slow_channel(app, monkeypatch, wired.graph, "/messages")
    dm(client, "mid.u2", sender="IGSID-u2")
    wired.queue.drain()
    first, _ = outbound(db, shop.ig.id)
    member_client = client
    login(member_client, shop.tenant.owner_email, shop.tenant.owner_password)
    page = member_client.get(f"/conversations/{first.conversation_id}").get_data(as_text=True)
    assert "delivery unknown" in page and "may receive it twice" in page
    token = csrf_token(member_client, f"/conversations/{first.conversation_id}")
    url = f"/conversations/{first.conversation_id}/messages/{first.id}/send-again"
    before = len(wired.graph.messages)
    unticked = member_client.post(url, data={"csrf_token": token})
    assert unticked.status_code == 303
    wired.queue.drain()
    assert len(wired.graph.messages) == before and outbound(db, shop.ig.id)[0].delivery_status == "unknown"
    ticked = member_client.post(url, data={"csrf_token": token, "may_duplicate": "1"})
    assert ticked.status_code == 303
    wired.queue.drain()
    assert outbound(db, shop.ig.id)[0].delivery_status == "sent"
    assert len(wired.graph.messages) == before + 1
    sent_again = member_client.post(url, data={"csrf_token": token, "may_duplicate": "1"})  # now sent: refused
    wired.queue.drain()
    assert sent_again.status_code == 303 and len(wired.graph.messages) == before + 1


def test_another_tenants_message_cannot_be_sent_again(client, shop, wired, db, make_tenant):
    from tests.helpers.web import csrf_token, login

    other = make_tenant("Other shop")
    dm(client, "mid.u3", sender="IGSID-u3")
    wired.queue.drain()
    first, _ = outbound(db, shop.ig.id)
    login(client, other.owner_email, other.owner_password)
    resp = client.post(f"/conversations/{first.conversation_id}/messages/{first.id}/send-again",
                       data={"csrf_token": csrf_token(client, "/"), "may_duplicate": "1"})
    assert resp.status_code == 404


def test_a_whatsapp_status_settles_an_unknown_reply(client, shop, wired, db, app, monkeypatch):
    """WhatsApp echoes `biz_opaque_callback_data` in the statuses of what it accepted: a reply whose send
    timed out is found by it, gets its wamid and moves on from `unknown`."""
    _slow_channel(app, monkeypatch, wired.graph, f"/{WA_PHONE_ID}/messages")
    post(client, mp.wa_text_body(WA_PHONE_ID, "wamid.IN1", "hello"), META_SECRET)
    wired.queue.drain()
    first = outbound(db, shop.wa.id)[0]
    assert first.delivery_status == "unknown"
    [request] = [r for r in wired.graph.messages if r.json.get("biz_opaque_callback_data") == first.idempotency_key]
    status = mp.wa_status("wamid.OUT-settled", "delivered")
    status["biz_opaque_callback_data"] = request.json["biz_opaque_callback_data"]
    body = mp.encode(mp.whatsapp_payload(mp.wa_entry("102290129340398", [mp.wa_change(WA_PHONE_ID,
                                                                                        statuses=[status])])))
    assert post(client, body, META_SECRET).status_code == 200
    wired.queue.drain()
    settled = outbound(db, shop.wa.id)[0]
    assert (settled.delivery_status, settled.external_id) == ("delivered", "wamid.OUT-settled")


def test_a_channel_id_given_twice_is_kept_off_the_second_message_not_failing_the_batch(shop, wired, db):
    """Recording send results never fails because a channel numbered two messages alike (the Telegram
    per-chat numbering was one case): both stay sent, the clash is noted on the second."""
    from connectors.pipeline.delivery import _write_results
    from webapp.models import Contact, Conversation, Message

    contact = Contact(tenant_id=shop.tenant.id, channel_id=shop.ig.id, external_user_id="dup-user")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=shop.tenant.id, contact_id=contact.id, channel_id=shop.ig.id, state={})
    db.session.add(conv)
    db.session.flush()
    rows = [Message(tenant_id=shop.tenant.id, conversation_id=conv.id, channel_id=shop.ig.id, direction="out",
                    text=f"r{n}", delivery_status="sending") for n in range(3)]
    db.session.add_all(rows)
    db.session.commit()
    ids = [r.id for r in rows]
    _write_results([{"p_message_id": ids[0], "p_status": "sent", "p_external_id": "X-1", "p_error": None,
                     "p_next": None, "p_attempts": 1},
                    {"p_message_id": ids[1], "p_status": "sent", "p_external_id": "X-1", "p_error": None,
                     "p_next": None, "p_attempts": 1},
                    {"p_message_id": ids[2], "p_status": "failed", "p_error": "refused", "p_next": None,
                     "p_attempts": 1}])
    db.session.commit()
    result = {m.id: m for m in outbound(db, shop.ig.id)}
    assert [result[i].delivery_status for i in ids] == ["sent", "sent", "failed"]
    assert result[ids[0]].external_id == "X-1" and result[ids[1]].external_id is None
    assert re.search("already recorded", result[ids[1]].error)
