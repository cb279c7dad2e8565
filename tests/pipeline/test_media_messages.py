"""Photos, voice notes, stickers, files and locations through the real webhooks against the fake channel APIs
(issue #19): each is stored with its media reference in the shared shape, answered once with the tenant's
"I can read text only" text in the tenant's language (never taken as an empty answer to a pending question),
and shown on the conversation page."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from flows import i18n
from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, WA_PHONE_ID, events, outbound, publish_templates
from tests.helpers.web import login
from tests.helpers.webhooks import IG_SECRET, META_SECRET, dm, post, telegram_channel

EN = i18n.text("media.text_only")
RU = "Я понимаю только текст — пожалуйста, напишите ваш вопрос."  # the Russian catalog's
PAGE = "100000000000777"


def inbound(db, channel_id: int) -> list[Any]:
    from webapp.models import Message

    db.session.expire_all()
    return list(db.session.query(Message).filter_by(channel_id=channel_id, direction="in").order_by(Message.id))


def conversation(db, channel_id: int) -> Any:
    from webapp.models import Conversation

    db.session.expire_all()
    return db.session.query(Conversation).filter_by(channel_id=channel_id).one()


def sent_texts(db, channel_id: int) -> list[str]:
    return [m.text for m in outbound(db, channel_id) if m.delivery_status == "sent"]


def ig_media(client, mid: str, attachments: list[dict[str, Any]], text: str = "") -> Any:
    entry = mp.ig_dm_entry(IG_ACCOUNT, [mp.ig_dm("IGSID-1", mid, text, attachments=attachments)])
    return post(client, mp.encode(mp.instagram_payload(entry)), IG_SECRET)


def wa_message(wamid: str, mtype: str, body: dict[str, Any]) -> bytes:
    msg = {"id": wamid, "from": "16505551234", "timestamp": str(int(time.time())), "type": mtype, mtype: body}
    change = mp.wa_change(WA_PHONE_ID, messages=[msg], contacts=[mp.wa_contact("Customer")])
    return mp.encode(mp.whatsapp_payload(mp.wa_entry("102290129340398", [change])))


def tg_message(update_id: int, message_id: int, **content: Any) -> bytes:
    message = {"message_id": message_id, "date": int(time.time()),
               "from": {"id": 555000111, "is_bot": False, "first_name": "Ann", "language_code": "ru"},
               "chat": {"id": 555000111, "type": "private", "first_name": "Ann"}, **content}
    return json.dumps({"update_id": update_id, "message": message}).encode()


# --- Instagram -----------------------------------------------------------------------------------------

def test_instagram_photo_is_stored_answered_once_and_shown(client, shop, wired, db):
    assert ig_media(client, "mid.photo", [{"type": "image", "payload": {"url": "https://cdn.example/p.jpg"}}]
                    ).status_code == 200
    wired.queue.drain()
    [message] = inbound(db, shop.ig.id)
    assert message.text == "" and message.payload["content"] == "image"
    assert message.payload["media"] == [{"kind": "image", "type": "image", "url": "https://cdn.example/p.jpg"}]
    assert sent_texts(db, shop.ig.id) == [EN]
    assert [r.json["message"]["text"] for r in wired.graph.messages] == [EN]
    assert events(db)[0].status == "done"

    login(client, shop.tenant.owner_email, shop.tenant.owner_password)
    page = client.get(f"/conversations/{conversation(db, shop.ig.id).id}").get_data(as_text=True)
    assert 'data-kind="image"' in page and "Photo" in page and 'href="https://cdn.example/p.jpg"' in page
    assert EN in page


def test_a_photo_never_answers_a_pending_question(client, shop, wired, db):
    """Mid-form, a photo gets the text-only reply; the question stays pending and no attempt is counted."""
    dm(client, "mid.t1", "hello")
    wired.queue.drain()
    before = conversation(db, shop.ig.id).state
    asked = (before.get("waiting") or {}).get("node")
    assert asked, "the lead form waits for an answer"
    replies = len(sent_texts(db, shop.ig.id))
    ig_media(client, "mid.voice", [{"type": "audio", "payload": {"url": "https://cdn.example/v.mp4"}}])
    wired.queue.drain()
    after = conversation(db, shop.ig.id).state
    assert sent_texts(db, shop.ig.id)[replies:] == [EN]
    assert (after.get("waiting") or {}).get("node") == asked and after.get("retries") == before.get("retries")
    assert after.get("vars") == before.get("vars")


def test_a_caption_is_answered_as_text(client, shop, wired, db):
    ig_media(client, "mid.cap", [{"type": "image", "payload": {"url": "https://cdn.example/c.jpg"}}],
             text="hello, is this in stock?")
    wired.queue.drain()
    [message] = inbound(db, shop.ig.id)
    assert message.text == "hello, is this in stock?" and message.payload["content"] == "image"
    texts = sent_texts(db, shop.ig.id)
    assert texts and EN not in texts  # the flow answered the caption


# --- WhatsApp ------------------------------------------------------------------------------------------

def test_whatsapp_voice_note_in_russian_and_a_location(client, shop, wired, db):
    shop.tenant.language = "ru"
    db.session.commit()
    raw = wa_message("wamid.VOICE", "audio", {"id": "MEDIA77", "mime_type": "audio/ogg; codecs=opus", "voice": True})
    assert post(client, raw, META_SECRET).status_code == 200
    wired.queue.drain()
    assert sent_texts(db, shop.wa.id) == [RU]
    [voice] = inbound(db, shop.wa.id)
    assert voice.payload["media"] == [{"kind": "audio", "type": "voice", "id": "MEDIA77",
                                       "mime_type": "audio/ogg; codecs=opus"}]
    sent = [r.json for r in wired.graph.messages if r.json.get("type") == "text"]
    assert [s["text"]["body"] for s in sent] == [RU]

    raw = wa_message("wamid.LOC", "location", {"latitude": 55.7558, "longitude": 37.6173, "name": "Office"})
    post(client, raw, META_SECRET)
    wired.queue.drain()
    location = inbound(db, shop.wa.id)[-1]
    assert location.payload["content"] == "location"
    assert location.payload["media"] == [{"kind": "location", "type": "location", "latitude": 55.7558,
                                          "longitude": 37.6173, "title": "Office"}]
    assert sent_texts(db, shop.wa.id) == [RU, RU]
    login(client, shop.tenant.owner_email, shop.tenant.owner_password)
    page = client.get(f"/conversations/{conversation(db, shop.wa.id).id}").get_data(as_text=True)
    assert 'data-kind="location"' in page and "openstreetmap.org/?mlat=55.7558&amp;mlon=37.6173" in page
    assert 'data-kind="audio"' in page


def test_the_tenants_own_text_from_settings(client, shop, wired, db):
    login(client, shop.tenant.owner_email, shop.tenant.owner_password)
    form = client.get("/settings/handoff").get_data(as_text=True)
    assert EN in form  # the built-in text is shown
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = client.post("/settings/handoff", data={
        "csrf_token": token, "keywords": "", "wait_minutes": "15", "wait_text": "",
        "media_text": "Please write to us in words 🙂"})
    assert answer.status_code == 302
    post(client, wa_message("wamid.STICKER", "sticker", {"id": "ST1", "mime_type": "image/webp"}), META_SECRET)
    wired.queue.drain()
    assert sent_texts(db, shop.wa.id) == ["Please write to us in words 🙂"]
    assert inbound(db, shop.wa.id)[0].payload["content"] == "sticker"


# --- Telegram ------------------------------------------------------------------------------------------

def test_telegram_photo_and_document_in_the_tenants_language(client, wired, make_tenant, db):
    channel, secret = telegram_channel(wired, make_tenant)
    channel.tenant.language = "ru"
    db.session.commit()
    url, hdr = f"/webhooks/telegram/{channel.id}", {"X-Telegram-Bot-Api-Secret-Token": secret,
                                                   "Content-Type": "application/json"}
    photo = tg_message(1, 10, photo=[{"file_id": "small", "file_unique_id": "s"},
                                     {"file_id": "BIG", "file_unique_id": "b", "file_size": 900}])
    assert client.post(url, data=photo, headers=hdr).status_code == 200
    doc = tg_message(2, 11, document={"file_id": "DOC1", "file_unique_id": "d", "file_name": "price.pdf",
                                      "mime_type": "application/pdf"})
    client.post(url, data=doc, headers=hdr)
    wired.queue.drain()
    assert [r.params["text"] for r in wired.telegram.requests_to("/sendMessage")] == [RU, RU]
    first, second = inbound(db, channel.id)
    assert first.payload["media"] == [{"kind": "image", "type": "photo", "id": "BIG", "size": 900}]
    assert second.payload["media"] == [{"kind": "file", "type": "document", "id": "DOC1",
                                        "mime_type": "application/pdf", "file_name": "price.pdf"}]


# --- Messenger -----------------------------------------------------------------------------------------

@pytest.fixture()
def page_channel(wired, make_tenant):
    from webapp.services.channels import add_channel

    tenant = make_tenant("Page shop", plan="PRO")
    publish_templates(tenant, "lead_capture")
    return add_channel(tenant, "messenger", external_id=PAGE, token="EAAG-page-token")


def test_messenger_two_photos_get_one_reply_and_a_sticker(client, page_channel, wired, db):
    photos = [{"type": "image", "payload": {"url": "https://cdn.example/1.jpg"}},
              {"type": "image", "payload": {"url": "https://cdn.example/2.jpg"}}]
    raw = mp.encode(mp.page_payload(mp.fb_entry(PAGE, [mp.fb_message("PSID-1", "m_photos", attachments=photos)])))
    assert post(client, raw, META_SECRET).status_code == 200
    wired.queue.drain()
    assert sent_texts(db, page_channel.id) == [EN]  # one reply per message, never one per attachment
    [message] = inbound(db, page_channel.id)
    assert [m["url"] for m in message.payload["media"]] == ["https://cdn.example/1.jpg", "https://cdn.example/2.jpg"]

    sticker = [{"type": "image", "payload": {"url": "https://cdn.example/like.png", "sticker_id": 369239263222822}}]
    raw = mp.encode(mp.page_payload(mp.fb_entry(PAGE, [mp.fb_message("PSID-1", "m_like", attachments=sticker)])))
    post(client, raw, META_SECRET)
    wired.queue.drain()
    assert inbound(db, page_channel.id)[-1].payload["media"] == [
        {"kind": "sticker", "type": "image", "id": "369239263222822", "url": "https://cdn.example/like.png"}]
    assert sent_texts(db, page_channel.id) == [EN, EN]
    assert [r.json["message"]["text"] for r in wired.graph.messages] == [EN, EN]
