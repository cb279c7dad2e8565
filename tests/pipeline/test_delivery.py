"""Outbound rules: reply windows and WhatsApp templates, one private reply per comment."""

from __future__ import annotations

from datetime import timedelta

from flows.turn import OutboundMessage
from tests.helpers.pipeline import WA_PHONE_ID, outbound


def _conversation(db, tenant, channel, user: str, last_inbound_hours_ago: float):
    from webapp.models import Contact, Conversation
    from webapp.models.base import utcnow

    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=user)
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id, state={},
                        last_inbound_at=utcnow() - timedelta(hours=last_inbound_hours_ago))
    db.session.add(conv)
    db.session.commit()
    return conv


def _deliver_one(db, tenant, channel, conv, text: str, key: str):
    from connectors.pipeline.delivery import deliver_message, record_outbound

    [row] = record_outbound(tenant, channel, conv, [OutboundMessage(text=text)], key_prefix=key, event_id=None,
                            inbound=None)
    db.session.commit()
    return deliver_message(row.id)


def test_whatsapp_outside_24h_without_template_records_why(wired, shop, db):
    conv = _conversation(db, shop.tenant, shop.wa, "16505550000", last_inbound_hours_ago=30)
    summary = _deliver_one(db, shop.tenant, shop.wa, conv, "Still interested?", "t1")
    assert summary.skipped == 1 and wired.graph.messages == []
    [row] = outbound(db, shop.wa.id)
    assert row.delivery_status == "skipped" and "24-hour" in row.error


def test_whatsapp_outside_24h_sends_the_configured_template(wired, shop, db):
    shop.wa.settings = {"reengagement_template": {"name": "follow_up", "language": {"code": "en_US"}}}
    db.session.commit()
    conv = _conversation(db, shop.tenant, shop.wa, "16505550001", last_inbound_hours_ago=30)
    _deliver_one(db, shop.tenant, shop.wa, conv, "Still interested?", "t2")
    [sent] = wired.graph.messages
    assert sent.path == f"/v21.0/{WA_PHONE_ID}/messages"
    assert sent.json["type"] == "template" and sent.json["template"]["name"] == "follow_up"
    assert outbound(db, shop.wa.id)[0].delivery_status == "sent"


def test_inside_the_window_free_text_is_sent(wired, shop, db):
    conv = _conversation(db, shop.tenant, shop.wa, "16505550002", last_inbound_hours_ago=2)
    _deliver_one(db, shop.tenant, shop.wa, conv, "Here you go", "t3")
    [sent] = wired.graph.messages
    assert sent.json["type"] == "text" and sent.json["text"]["body"] == "Here you go"


def test_a_comment_gets_one_private_reply_even_if_a_flow_asks_twice(wired, shop, db):
    from connectors.channels.events import InboundEvent
    from connectors.pipeline.delivery import record_outbound

    conv = _conversation(db, shop.tenant, shop.ig, "IGSID-9", last_inbound_hours_ago=0)
    comment = InboundEvent("instagram", "x", "comment", "C-77", "IGSID-9", "price?", meta={"comment_id": "C-77"})
    first = record_outbound(shop.tenant, shop.ig, conv, [OutboundMessage("DM 1", kind="private_reply")],
                            key_prefix="a", event_id=None, inbound=comment)
    second = record_outbound(shop.tenant, shop.ig, conv, [OutboundMessage("DM 2", kind="private_reply")],
                             key_prefix="b", event_id=None, inbound=comment)
    db.session.commit()
    assert len(first) == 1 and second == []
    assert [m.text for m in outbound(db, shop.ig.id)] == ["DM 1"]


def test_replies_are_stored_and_sent_in_the_flows_order_around_a_private_reply(wired, shop, db):
    from connectors.pipeline.delivery import record_outbound

    conv = _conversation(db, shop.tenant, shop.ig, "IGSID-10", last_inbound_hours_ago=0)
    meta = {"comment_id": "C-78"}
    rows = record_outbound(shop.tenant, shop.ig, conv, [
        OutboundMessage("public 1", kind="comment_reply", meta=meta),
        OutboundMessage("DM", kind="private_reply", meta=meta),
        OutboundMessage("public 2", kind="comment_reply", meta=meta)], key_prefix="o", event_id=None, inbound=None)
    db.session.commit()
    assert [r.text for r in rows] == ["public 1", "DM", "public 2"]
    assert [m.text for m in outbound(db, shop.ig.id)] == ["public 1", "DM", "public 2"]  # by id: send order


def test_a_private_reply_is_not_sent_more_than_7_days_after_the_comment(client, shop, wired, db):
    """Instagram allows the one private reply "within 7 days of the creation time of the comment"
    (PROTOCOLS.md §3): later, it is skipped with the reason; the public reply still goes out."""
    import time

    from tests.fakes import meta_payloads as mp
    from tests.helpers.pipeline import IG_ACCOUNT
    from tests.helpers.webhooks import IG_SECRET, post
    eight_days_ago = int(time.time()) - 8 * 24 * 3600
    change = mp.ig_comment_change("C-old", "price?", user_id="IGSID-old")
    raw = mp.encode(mp.instagram_payload(mp.ig_changes_entry(IG_ACCOUNT, [change], time_s=eight_days_ago)))
    assert post(client, raw, IG_SECRET).status_code == 200
    wired.queue.drain()
    private = [m for m in outbound(db, shop.ig.id) if m.kind == "private_reply"]
    assert [(m.delivery_status, "7 days" in (m.error or "")) for m in private] == [("skipped", True)]
    assert not [r for r in wired.graph.messages if (r.json or {}).get("recipient", {}).get("comment_id")]
    assert [m.delivery_status for m in outbound(db, shop.ig.id) if m.kind == "comment_reply"] == ["sent"]
