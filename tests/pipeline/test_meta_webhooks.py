"""Signed Meta webhooks in → replies recorded by the fake Graph API (real HTTP), and the refusals."""

from __future__ import annotations

import json

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, IG_TOKEN, WA_PHONE_ID, WA_TOKEN, events, outbound
from tests.helpers.webhooks import IG_SECRET, META_SECRET, post


def test_handshake(client, app):
    ok = client.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=test-verify-token")
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "1158201444"
    bad = client.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong")
    assert bad.status_code == 403


def test_handshake_refused_when_no_token_is_configured(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "META_VERIFY_TOKEN", "")
    resp = client.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=5&hub.verify_token=")
    assert resp.status_code == 403


def test_instagram_dm_end_to_end(client, shop, wired, db):
    raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-1", "mid.1", "Привет, hello")
    resp = post(client, raw, IG_SECRET)
    assert resp.status_code == 200
    assert [e.status for e in events(db)] == ["queued"]
    assert wired.queue.drain() >= 1
    sent = wired.graph.messages
    assert len(sent) == 2
    first = sent[0]
    assert first.path == "/v21.0/me/messages"
    assert first.header("Authorization") == f"Bearer {IG_TOKEN}"
    assert first.json["recipient"] == {"id": "IGSID-1"}
    assert "Thanks for reaching out" in first.json["message"]["text"]
    assert [m.delivery_status for m in outbound(db, shop.ig.id)] == ["sent", "sent"]
    assert events(db)[0].status == "done"


def test_forged_absent_and_reserialised_signatures_store_nothing(client, shop, wired, db):
    raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-1", "mid.2", "Цена? äöå")
    assert post(client, raw, None).status_code == 401
    assert post(client, raw, "not-the-secret").status_code == 401
    signature = mp.sign(raw, IG_SECRET)
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    resp = client.post("/webhooks/meta", data=reserialised,
                       headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature})
    assert resp.status_code == 401
    assert events(db) == [] and wired.queue.drain() == 0 and wired.graph.messages == []


def test_malformed_json_is_a_400_with_a_message(client, shop, wired, db):
    raw = b'{"object": "instagram", "entry": [ broken'
    resp = post(client, raw, IG_SECRET)
    assert resp.status_code == 400 and "JSON" in resp.get_json()["error"]
    assert events(db) == []


def test_batch_with_several_entries_and_echoes(client, shop, wired, db):
    payload = mp.instagram_payload(
        mp.ig_dm_entry(IG_ACCOUNT, [mp.ig_dm("U1", "mid.a", "hi"), mp.ig_dm("U2", "mid.b", "hello")]),
        mp.ig_dm_entry(IG_ACCOUNT, [mp.ig_dm("U3", "mid.c", "hey"),
                                    mp.ig_dm(IG_ACCOUNT, "mid.echo", "our own reply", recipient="U1", is_echo=True)]),
        mp.ig_dm_entry("99999", [mp.ig_dm("U9", "mid.z", "unknown account")]),
    )
    raw = mp.encode(payload)
    resp = post(client, raw, IG_SECRET)
    assert resp.status_code == 200
    assert resp.get_json()["stored"] == 3 and resp.get_json()["unknown_accounts"] == 1
    wired.queue.drain()
    recipients = {r.json["recipient"]["id"] for r in wired.graph.messages}
    assert recipients == {"U1", "U2", "U3"}


def test_duplicate_delivery_replies_once(client, shop, wired, db):
    raw = mp.ig_dm_body(IG_ACCOUNT, "IGSID-7", "mid.dup", "hi")
    assert post(client, raw, IG_SECRET).status_code == 200
    wired.queue.drain()
    assert post(client, raw, IG_SECRET).get_json()["stored"] == 0
    wired.queue.drain()
    assert len(events(db)) == 1
    assert len(wired.graph.messages) == 2


def test_comment_gets_public_and_one_private_reply(client, shop, wired, db):
    raw = mp.ig_comment_body(IG_ACCOUNT, "C-100", "price?", "IGSID-55")
    assert post(client, raw, IG_SECRET).status_code == 200
    wired.queue.drain()
    replies = wired.graph.requests_to("/replies", "POST")
    assert len(replies) == 1 and replies[0].path == "/v21.0/C-100/replies"
    assert replies[0].params.get("message") or replies[0].json
    private = [r for r in wired.graph.messages if r.json["recipient"].get("comment_id")]
    assert len(private) == 1 and private[0].json["recipient"] == {"comment_id": "C-100"}
    # Our own public reply comes back as a comment webhook: it is dropped, not answered.
    own = mp.ig_comment_body(IG_ACCOUNT, "C-101", "Thanks for your comment!", IG_ACCOUNT)
    assert post(client, own, IG_SECRET).get_json()["stored"] == 0
    # The commenter answers the DM: the same conversation continues (asks for the phone).
    post(client, mp.ig_dm_body(IG_ACCOUNT, "IGSID-55", "mid.after", "yes please"), IG_SECRET)
    wired.queue.drain()
    dm = [r for r in wired.graph.messages if r.json["recipient"].get("id") == "IGSID-55"]
    assert dm, "the DM reply continues the comment conversation"


def test_comments_are_skipped_without_the_feature(client, wired, db, make_tenant):
    from webapp.services.channels import add_channel

    tenant = make_tenant("Small", plan="START")
    add_channel(tenant, "instagram", external_id="1784", token="t")
    from tests.helpers.pipeline import publish_templates
    publish_templates(tenant, "instagram_comment_to_dm")
    post(client, mp.ig_comment_body("1784", "C-1", "price", "U1"), IG_SECRET)
    wired.queue.drain()
    [event] = events(db)
    assert event.status == "skipped" and "comment_replies" in event.reason
    assert wired.graph.requests == []


def test_whatsapp_end_to_end_and_status_updates(client, shop, wired, db):
    raw = mp.wa_text_body(WA_PHONE_ID, "wamid.IN1", "Hello")
    assert post(client, raw, META_SECRET).status_code == 200
    wired.queue.drain()
    sent = wired.graph.messages
    assert sent[0].path == f"/v21.0/{WA_PHONE_ID}/messages"
    assert sent[0].header("Authorization") == f"Bearer {WA_TOKEN}"
    assert sent[0].json["to"] == "16505551234" and sent[0].json["type"] == "text"
    first = outbound(db, shop.wa.id)[0]
    wamid = first.external_id
    assert wamid.startswith("wamid.")
    for status in ("read", "delivered"):  # unordered: read arrives first, delivered must not downgrade it
        post(client, mp.wa_status_body(WA_PHONE_ID, wamid, status), META_SECRET)
    wired.queue.drain()
    assert outbound(db, shop.wa.id)[0].delivery_status == "read"


def test_a_whatsapp_status_that_arrives_before_its_send_result_is_applied_later(client, shop, wired, db):
    """WhatsApp may call back with a status before the sender has stored the wamid its send returned (a turn
    holds the person's lock until then, but a send outside a turn does not): the status waits for the
    sweeper instead of being dropped, and is applied once the message is known."""
    from datetime import timedelta

    from connectors.pipeline.sweeper import sweep
    from webapp.models import InboundEvent

    post(client, mp.wa_text_body(WA_PHONE_ID, "wamid.IN2", "Hello"), META_SECRET)
    wired.queue.drain()
    reply = outbound(db, shop.wa.id)[0]
    wamid, reply.external_id = reply.external_id, None  # the send has returned, its result is not stored yet
    db.session.commit()
    post(client, mp.wa_status_body(WA_PHONE_ID, wamid, "delivered"), META_SECRET)
    wired.queue.drain()
    status_event = db.session.query(InboundEvent).filter_by(kind="status").one()
    assert status_event.status == "queued" and "yet" in status_event.reason
    reply = outbound(db, shop.wa.id)[0]
    reply.external_id = wamid  # the send result is committed
    status_event.created_at -= timedelta(minutes=5)  # past the sweeper's grace period
    db.session.commit()
    assert sweep()["events_requeued"] == 1
    wired.queue.drain()
    db.session.expire_all()
    assert db.session.get(InboundEvent, status_event.id).status == "done"
    assert outbound(db, shop.wa.id)[0].delivery_status == "delivered"


def test_a_status_for_a_message_we_never_sent_is_skipped_after_one_more_look(client, shop, wired, db):
    from datetime import timedelta

    from connectors.pipeline.sweeper import sweep
    from webapp.models import InboundEvent

    post(client, mp.wa_status_body(WA_PHONE_ID, "wamid.OTHER-TOOL", "read"), META_SECRET)
    wired.queue.drain()
    event = db.session.query(InboundEvent).one()
    assert event.status == "queued"
    event.created_at -= timedelta(minutes=5)
    db.session.commit()
    sweep()
    wired.queue.drain()
    db.session.expire_all()
    event = db.session.get(InboundEvent, event.id)
    assert (event.status, event.attempts) == ("skipped", 2) and "no stored message" in event.reason
