"""Messenger end to end: a Page connected like any channel, its signed webhooks on /webhooks/meta stored and
answered through the Send API of the Graph fake, its own echoes and receipts left unanswered, and the
24-hour window kept as on Instagram."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from flows.turn import OutboundMessage
from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import events, outbound, publish_templates
from tests.helpers.webhooks import IG_SECRET, META_SECRET, post

PAGE = "100000000000777"
PAGE_TOKEN = "EAAG-page-token"


@pytest.fixture()
def page(wired, make_tenant):
    """A tenant whose Facebook Page is connected the operator's way (CLI), with the lead capture flow."""
    from webapp.models import Channel

    tenant = make_tenant("Page shop", plan="PRO")
    publish_templates(tenant, "lead_capture")
    result = wired.app.test_cli_runner().invoke(args=[
        "channel", "add", "--tenant", str(tenant.id), "--type", "messenger", "--external-id", PAGE,
        "--token", PAGE_TOKEN])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["webhook_url"].endswith("/webhooks/meta") and out["external_id"] == PAGE
    return SimpleNamespace(tenant=tenant, channel=wired.db.session.get(Channel, out["id"]))


def test_connecting_a_page_asks_for_its_id_and_token(wired, make_tenant):
    tenant = make_tenant("No page")
    runner = wired.app.test_cli_runner()
    no_id = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "messenger", "--token", "t"])
    assert no_id.exit_code == 1 and "--external-id is required for messenger" in no_id.output
    no_token = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "messenger",
                                   "--external-id", PAGE])
    assert no_token.exit_code == 1 and "--token is required for messenger" in no_token.output


def test_a_page_message_is_answered_through_the_send_api(client, page, wired, db):
    resp = post(client, mp.fb_text_body(PAGE, "PSID-1", "m_1", "Привет, hello"), META_SECRET)
    assert resp.status_code == 200 and resp.get_json()["stored"] == 1
    assert [(e.kind, e.status) for e in events(db)] == [("dm", "queued")]
    assert wired.queue.drain() >= 1
    sent = wired.graph.messages
    assert sent and all(r.path == "/v21.0/me/messages" for r in sent)
    first = sent[0]
    assert first.header("Authorization") == f"Bearer {PAGE_TOKEN}"
    assert first.json["recipient"] == {"id": "PSID-1"} and first.json["messaging_type"] == "RESPONSE"
    assert "Thanks for reaching out" in first.json["message"]["text"]
    assert {m.delivery_status for m in outbound(db, page.channel.id)} == {"sent"}
    assert events(db)[0].status == "done"


def test_echoes_receipts_and_duplicates_are_not_answered(client, page, wired, db):
    raw = mp.fb_text_body(PAGE, "PSID-2", "m_2", "hi")
    assert post(client, raw, META_SECRET).status_code == 200
    wired.queue.drain()
    replies = len(wired.graph.messages)
    assert replies >= 1
    # Every send comes back as an echo, plus delivery and read receipts; and Meta redelivers.
    noise = mp.encode(mp.page_payload(mp.fb_entry(PAGE, [
        mp.fb_message("PSID-2", "m_echo", "Thanks for reaching out", page_id=PAGE, is_echo=True),
        mp.fb_receipt("PSID-2", "delivery"), mp.fb_receipt("PSID-2", "read")])))
    assert post(client, noise, META_SECRET).get_json()["stored"] == 0
    assert post(client, raw, META_SECRET).get_json()["stored"] == 0
    wired.queue.drain()
    assert len(wired.graph.messages) == replies and len(events(db)) == 1


def test_a_postback_continues_the_conversation(client, page, wired, db):
    post(client, mp.fb_text_body(PAGE, "PSID-3", "m_3", "hi"), META_SECRET)
    wired.queue.drain()
    before = len(wired.graph.messages)
    tap = mp.encode(mp.page_payload(mp.fb_entry(PAGE, [mp.fb_postback("PSID-3", "Anna", title="Anna",
                                                                      mid="m_pb")])))
    assert post(client, tap, META_SECRET).get_json()["stored"] == 1
    wired.queue.drain()
    assert len(wired.graph.messages) > before
    assert {r.json["recipient"]["id"] for r in wired.graph.messages} == {"PSID-3"}


def test_unknown_pages_and_bad_signatures_store_nothing(client, page, wired, db):
    other = post(client, mp.fb_text_body("999999", "PSID-4", "m_4", "hi"), META_SECRET)
    assert other.status_code == 200 and other.get_json()["unknown_accounts"] == 1
    raw = mp.fb_text_body(PAGE, "PSID-4", "m_5", "hi")
    assert post(client, raw, None).status_code == 401
    assert post(client, raw, "not-the-secret").status_code == 401
    assert post(client, raw, IG_SECRET).status_code == 200  # the route tries every Meta secret it has
    assert [e.external_id for e in events(db)] == ["m_5"]


def test_outside_the_24_hour_window_the_bot_does_not_write(wired, page, db):
    from connectors.pipeline.delivery import deliver_message, record_outbound
    from webapp.models import Contact, Conversation
    from webapp.models.base import utcnow

    contact = Contact(tenant_id=page.tenant.id, channel_id=page.channel.id, external_user_id="PSID-5")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=page.tenant.id, contact_id=contact.id, channel_id=page.channel.id, state={},
                        last_inbound_at=utcnow() - timedelta(hours=30))
    db.session.add(conv)
    db.session.commit()
    [row] = record_outbound(page.tenant, page.channel, conv, [OutboundMessage(text="Still interested?")],
                            key_prefix="late", event_id=None, inbound=None)
    db.session.commit()
    assert deliver_message(row.id).skipped == 1 and wired.graph.messages == []
    [stored] = outbound(db, page.channel.id)
    assert stored.delivery_status == "skipped" and "24-hour" in stored.error
