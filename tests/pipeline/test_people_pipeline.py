"""One person across channels, end to end through the webhooks: a WhatsApp number makes (or joins) a person,
a Telegram user sharing their own number joins it, a contact card of someone else and a number typed into
the lead form never do (the typed one becomes an offer)."""

from __future__ import annotations

import json
import time

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import WA_PHONE_ID
from tests.helpers.webhooks import META_SECRET, add_bot, post

WA_NUMBER = "16505551234"
TG_USER = 555000111


def _telegram(wired, tenant):
    """A Telegram bot of the same tenant, connected the real way (getMe + setWebhook at the fake)."""
    out = json.loads(add_bot(wired.app, wired.telegram, tenant.id, wired.telegram.token).output)
    secret = wired.telegram.requests_to("/setWebhook")[-1].params["secret_token"]
    return out["id"], {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}


def _tg_contact(update_id: int, phone: str, contact_user_id: int | None, message_id: int) -> bytes:
    """A `contact` message (the request_contact button, or a contact card from the address book)."""
    contact = {"phone_number": phone, "first_name": "Ann"}
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    message = {"message_id": message_id, "date": int(time.time()), "contact": contact,
               "from": {"id": TG_USER, "is_bot": False, "first_name": "Ann", "username": "ann_tg"},
               "chat": {"id": TG_USER, "type": "private", "first_name": "Ann"}}
    return json.dumps({"update_id": update_id, "message": message}).encode()


def _contact(db, channel_id: int, user_id: str):
    from webapp.models import Contact

    db.session.expire_all()
    return db.session.query(Contact).filter_by(channel_id=channel_id, external_user_id=user_id).one()


def _whatsapp_hello(client, wired, wamid: str = "wamid.P1") -> None:
    assert post(client, mp.wa_text_body(WA_PHONE_ID, wamid, "Hello", wa_id=WA_NUMBER), META_SECRET).status_code == 200
    wired.queue.drain()


def test_whatsapp_number_makes_a_person_and_a_telegram_user_sharing_it_joins(client, shop, wired, db):
    from webapp.models import Person, PersonLink

    _whatsapp_hello(client, wired)
    wa = _contact(db, shop.wa.id, WA_NUMBER)
    person = db.session.get(Person, wa.person_id)
    assert person.phone == WA_NUMBER and person.tenant_id == shop.tenant.id

    channel_id, headers = _telegram(wired, shop.tenant)
    url = f"/webhooks/telegram/{channel_id}"
    hello = mp.tg_update(1, "hi", chat_id=TG_USER, message_id=1)
    assert client.post(url, data=hello, headers=headers).status_code == 200
    assert client.post(url, data=_tg_contact(2, "+1 650 555 1234", TG_USER, 2), headers=headers).status_code == 200
    wired.queue.drain()
    tg = _contact(db, channel_id, str(TG_USER))
    assert tg.person_id == person.id  # the platform vouched: merged on its own
    [link] = db.session.query(PersonLink).filter_by(contact_id=tg.id).all()
    assert (link.rule, link.status, link.value, link.person_id) == ("telegram_contact", "merged", WA_NUMBER, person.id)
    assert link.from_person_id is None  # the Telegram contact had no person yet


def test_a_contact_card_of_someone_else_and_a_typed_number_never_merge(client, shop, wired, db):
    from webapp.models import Lead, PersonLink

    _whatsapp_hello(client, wired)
    wa = _contact(db, shop.wa.id, WA_NUMBER)
    channel_id, headers = _telegram(wired, shop.tenant)
    url = f"/webhooks/telegram/{channel_id}"
    # Lead capture: hi → name → phone (the WhatsApp customer's number, typed) → Yes.
    steps = ["hi", "Ann", "+1 650 555 1234", "Yes"]
    for n, text in enumerate(steps, start=1):
        assert client.post(url, data=mp.tg_update(n, text, chat_id=TG_USER, message_id=n), headers=headers) \
            .status_code == 200
        wired.queue.drain()
    # A contact card with the same number, but of another Telegram user (or of nobody on Telegram).
    client.post(url, data=_tg_contact(10, "+16505551234", 999888777, 10), headers=headers)
    client.post(url, data=_tg_contact(11, "+16505551234", None, 11), headers=headers)
    wired.queue.drain()

    db.session.expire_all()
    tg = _contact(db, channel_id, str(TG_USER))
    [lead] = db.session.query(Lead).filter_by(contact_id=tg.id).all()
    assert lead.fields["phone"] == "+16505551234"
    assert tg.person_id != wa.person_id  # typing a stranger's number never joins their history
    links = db.session.query(PersonLink).filter_by(contact_id=tg.id).all()
    assert [(x.rule, x.status, x.person_id, x.value) for x in links] == [
        ("phone", "offered", wa.person_id, WA_NUMBER)]


def test_the_same_number_in_another_tenant_is_another_person(client, shop, wired, db, make_tenant):
    from tests.helpers.pipeline import publish_templates
    from webapp.services.channels import add_channel

    other = make_tenant("Other shop")
    other_wa = add_channel(other, "whatsapp", external_id="999000111222", token="EAAG-other")
    publish_templates(other, "lead_capture")
    db.session.commit()
    _whatsapp_hello(client, wired)
    raw = mp.wa_text_body("999000111222", "wamid.O1", "Hello", wa_id=WA_NUMBER)
    assert post(client, raw, META_SECRET).status_code == 200
    wired.queue.drain()
    mine, theirs = _contact(db, shop.wa.id, WA_NUMBER), _contact(db, other_wa.id, WA_NUMBER)
    assert mine.person_id and theirs.person_id and mine.person_id != theirs.person_id
