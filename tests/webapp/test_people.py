"""One person across channels: the merge rules (automatic only for vouched identities, typed values only
offered), accept / dismiss / undo / a member's merge through the pages, tenant isolation, and the contacts
list's keyset pages and search. The end-to-end runs through the webhooks are in
tests/pipeline/test_people_pipeline.py."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from tests.helpers.web import csrf_token


def _channel(db, tenant, kind: str):
    from webapp.models import Channel

    channel = Channel(tenant_id=tenant.id, type=kind, name=kind, external_id=f"{kind}-{tenant.id}", credentials={})
    db.session.add(channel)
    db.session.flush()
    return channel


def _contact(db, channel, user_id: str, **values):
    from webapp.models import Contact

    contact = Contact(tenant_id=channel.tenant_id, channel_id=channel.id, external_user_id=user_id, **values)
    db.session.add(contact)
    db.session.flush()
    return contact


@pytest.fixture()
def world(db, tenant, make_tenant):
    """Tenant A with WhatsApp, Telegram and web-chat channels; tenant B with a contact and a person that
    match everything A's contacts type."""
    a = SimpleNamespace(wa=_channel(db, tenant, "whatsapp"), tg=_channel(db, tenant, "telegram"),
                        web=_channel(db, tenant, "webchat"))
    other = make_tenant("Tenant B")
    b_wa = _channel(db, other, "whatsapp")
    b_contact = _contact(db, b_wa, "37120000001", name="B customer")
    from webapp.services import people

    b_person = people.ensure_person(b_contact)
    b_typed = _contact(db, _channel(db, other, "webchat"), "b-visitor", name="B typed", phone="+37120000001",
                       email="ann@example.com")
    db.session.commit()
    return SimpleNamespace(tenant=tenant, a=a, other=other, b_contact=b_contact, b_person=b_person,
                           b_typed=b_typed)


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/contacts"), **data})


def _links(db, **filters):
    from sqlalchemy import select

    from webapp.models import PersonLink

    db.session.expire_all()
    query = select(PersonLink).order_by(PersonLink.id)
    for key, value in filters.items():
        query = query.where(getattr(PersonLink, key) == value)
    return list(db.session.scalars(query))


def _person_of(db, contact) -> int | None:
    db.session.expire_all()
    return db.session.get(type(contact), contact.id).person_id


# -- normalising and the vouching rule ---------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [
    ("+44 (0)20 7946 0958", "442079460958"), ("+4402079460958", "442079460958"), ("0044 20 7946 0958", "442079460958"),
    ("16505551234", "16505551234"), ("+1 (650) 555-1234", "16505551234"), ("0612345678", "0612345678"),
    ("12345", ""), ("", ""), (None, ""), ("call me", ""),
])
def test_phones_are_normalised(raw, expected):
    from webapp.services.people import normalise_phone

    assert normalise_phone(raw) == expected


def test_emails_are_normalised():
    from webapp.services.people import normalise_email

    assert normalise_email("  Ann@Example.COM ") == "ann@example.com"
    assert normalise_email("not an email") == normalise_email("@") == ""


def test_only_the_platform_vouches():
    from webapp.services.people import vouched_phone

    assert vouched_phone("whatsapp", True, "16505551234", {"wa_id": "16505551234"}) == ("wa_id", "16505551234")
    assert vouched_phone("whatsapp", False, "16505551234", {"wa_id": "16505551234"}) is None  # seen before
    assert vouched_phone("whatsapp", True, "US.123", {"wa_id": None, "bsuid": "US.123"}) is None  # no number
    own = {"contact": {"phone_number": "+16505551234", "user_id": 555000111}}
    assert vouched_phone("telegram", False, "555000111", own) == ("telegram_contact", "16505551234")
    someone_else = {"contact": {"phone_number": "+16505551234", "user_id": 999}}
    assert vouched_phone("telegram", False, "555000111", someone_else) is None
    assert vouched_phone("telegram", False, "555000111", {"contact": {"phone_number": "+16505551234"}}) is None
    assert vouched_phone("webchat", True, "v1", {"contact": {"phone_number": "+1650", "user_id": "v1"}}) is None


def test_a_whatsapp_contact_joins_the_person_its_number_was_vouched_for(db, world):
    from webapp.services import people

    tg = _contact(db, world.a.tg, "555000111", name="Ann on Telegram")
    person = people.vouch(tg, "telegram_contact", "+1 650 555 1234")
    assert person.phone == "16505551234" and tg.person_id == person.id
    wa = _contact(db, world.a.wa, "16505551234", name="Ann")
    assert people.ensure_person(wa).id == person.id  # a WhatsApp id is its number: the platform vouches
    [link] = _links(db, contact_id=wa.id)
    assert (link.rule, link.status, link.value, link.from_person_id) == ("wa_id", "merged", "16505551234", None)
    # Tenant B's person with the same number is never joined.
    assert people.ensure_person(world.b_contact).id == world.b_person.id != person.id


def test_a_vouched_phone_follows_its_person_after_a_merge(db, world):
    from webapp.services import people

    first = _contact(db, world.a.wa, "16505551234")
    host = _contact(db, world.a.web, "visitor-1")
    people.merge_contacts(host, first, "owner@x")  # the vouched person is now empty: its contacts moved
    tg = _contact(db, world.a.tg, "555000111")
    assert people.vouch(tg, "telegram_contact", "+16505551234").id == host.person_id


# -- offers ----------------------------------------------------------------------------------------------
def test_a_typed_phone_or_email_is_only_offered(db, world):
    from webapp.models import Person
    from webapp.services import people

    wa = _contact(db, world.a.wa, "37120000001", name="Ann")
    vouched = people.ensure_person(wa)
    typed = _contact(db, world.a.web, "visitor-typed", email="ann@example.com", phone="+371 2000 0002")
    db.session.commit()
    stranger = _contact(db, world.a.tg, "555", name="Someone")
    offers = people.offer_from_form(stranger, {"phone": "+371 2000 0001", "email": " ANN@example.com"})
    db.session.commit()
    assert [(o.rule, o.value, o.person_id, o.status) for o in offers] == [
        ("phone", "37120000001", vouched.id, "offered"), ("email", "ann@example.com", typed.person_id, "offered")]
    assert stranger.person_id is None  # typing a stranger's number never joins their history
    assert db.session.get(Person, vouched.id).phone == "37120000001"
    assert all(o.person_id not in (world.b_person.id, world.b_typed.person_id) for o in offers)
    # The same offer is not made twice, nor after a dismissal; a typed value matching nobody offers nothing.
    assert people.offer_from_form(stranger, {"phone": "+37120000001"}) == []
    people.dismiss(offers[0], "owner@x")
    assert people.offer_from_form(stranger, {"phone": "+37120000001"}) == []
    assert people.offer_from_form(stranger, {"phone": "+37129999999", "email": "nobody@example.com"}) == []
    # A contact's own vouched number is no offer.
    assert people.offer_from_form(wa, {"phone": "+37120000001"}) == []


def _person_page(client, contact_id: int) -> str:
    resp = client.get(f"/contacts/{contact_id}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def test_accept_merges_and_undo_puts_everything_back(member_client, db, world):
    from webapp.models import Conversation, Lead
    from webapp.services import people

    wa = _contact(db, world.a.wa, "37120000001", name="Ann WhatsApp")
    target = people.ensure_person(wa)
    web = _contact(db, world.a.web, "visitor-1", name="Ann web")
    web_friend = _contact(db, world.a.tg, "777", name="Ann Telegram")
    people.merge_contacts(web, web_friend, "owner@x")  # web's person already holds two identities
    conv = Conversation(tenant_id=world.tenant.id, contact_id=web.id, channel_id=world.a.web.id)
    db.session.add(conv)
    db.session.flush()
    lead = Lead(tenant_id=world.tenant.id, contact_id=web.id, conversation_id=conv.id, fields={"name": "Ann"})
    db.session.add(lead)
    [offer] = people.offer_from_form(web, {"phone": "+37120000001"})
    db.session.commit()
    before = web.person_id

    page = _person_page(member_client, wa.id)
    assert f'data-testid="offer" data-id="{offer.id}"' in page and "Ann web" in page
    assert f'data-testid="person_link_accept-{offer.id}"' in page and "same phone typed in a form" in page

    resp = _post(member_client, f"/people/links/{offer.id}/accept")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/contacts/{web.id}")
    assert _person_of(db, web) == _person_of(db, web_friend) == _person_of(db, wa) == target.id
    page = _person_page(member_client, wa.id)
    for cid in (wa.id, web.id, web_friend.id):
        assert f'data-testid="person-contact" data-id="{cid}"' in page  # every channel identity, together
    assert f"/conversations/{conv.id}" in page and f"/leads/{lead.id}" in page
    merged = _links(db, status="merged", person_id=target.id)
    assert {(m.contact_id, m.from_person_id) for m in merged} == {(web.id, before), (web_friend.id, before)}
    assert _post(member_client, f"/people/links/{offer.id}/accept").status_code == 303  # decided: refused
    assert _person_of(db, web) == target.id

    assert f'data-testid="person_link_undo-{merged[-1].id}"' in page
    resp = _post(member_client, f"/people/links/{merged[-1].id}/undo")
    assert resp.status_code == 303
    assert _person_of(db, web) == _person_of(db, web_friend) == before != target.id
    assert _person_of(db, wa) == target.id
    assert {m.status for m in _links(db, person_id=target.id, from_person_id=before)} == {"undone"}
    db.session.expire_all()
    assert db.session.get(Conversation, conv.id).contact_id == web.id  # history never moved
    assert db.session.get(Lead, lead.id).contact_id == web.id


def test_dismiss_keeps_contacts_apart(member_client, db, world):
    from webapp.services import people

    wa = _contact(db, world.a.wa, "37120000001")
    people.ensure_person(wa)
    web = _contact(db, world.a.web, "visitor-1")
    [offer] = people.offer_from_form(web, {"phone": "+37120000001"})
    db.session.commit()
    assert _post(member_client, f"/people/links/{offer.id}/dismiss").status_code == 303
    [link] = _links(db, id=offer.id)
    assert link.status == "dismissed" and link.actor == world.tenant.owner_email
    assert _person_of(db, web) is None
    assert 'data-testid="offer"' not in _person_page(member_client, web.id)
    assert _post(member_client, f"/people/links/{offer.id}/undo").status_code == 303  # not a merge: refused
    assert _links(db, id=offer.id)[0].status == "dismissed"


def test_manual_merge_and_undo_of_an_automatic_join(member_client, db, world):
    from webapp.services import people

    tg = _contact(db, world.a.tg, "555000111", name="Boris Telegram")
    web = _contact(db, world.a.web, "visitor-9", name="Boris web", email="boris@example.com")
    db.session.commit()
    page = member_client.get(f"/contacts/{tg.id}", query_string={"find": "boris@"}).get_data(as_text=True)
    assert f'data-testid="merge-candidate" data-id="{web.id}"' in page
    assert f'data-testid="merge-candidate" data-id="{tg.id}"' not in page

    assert _post(member_client, f"/contacts/{tg.id}/merge", other_contact_id=str(web.id)).status_code == 303
    assert _person_of(db, web) == _person_of(db, tg) is not None
    [link] = _links(db, rule="manual")
    assert (link.contact_id, link.status, link.actor) == (web.id, "merged", world.tenant.owner_email)
    # Merging again is refused with a message; bad ids are 400, unknown ones 404.
    assert _post(member_client, f"/contacts/{tg.id}/merge", other_contact_id=str(web.id)).status_code == 303
    assert len(_links(db, rule="manual")) == 1
    for bad in ("", "x", "-1", str(2**40), "١٢"):
        assert _post(member_client, f"/contacts/{tg.id}/merge", other_contact_id=bad).status_code == 400
    assert _post(member_client, f"/contacts/{tg.id}/merge", other_contact_id="999999").status_code == 404
    assert _post(member_client, f"/people/links/{link.id}/undo").status_code == 303
    assert _person_of(db, web) != _person_of(db, tg)

    # An automatic join (a WhatsApp number vouched before) is undone the same way: it gets a person of its own.
    vouched = people.vouch(tg, "telegram_contact", "+16505551234")
    wa = _contact(db, world.a.wa, "16505551234")
    people.ensure_person(wa)
    db.session.commit()
    [auto] = _links(db, contact_id=wa.id)
    assert _post(member_client, f"/people/links/{auto.id}/undo").status_code == 303
    assert _person_of(db, wa) not in (None, vouched.id)
    # …and the same vouch does not redo what a member undid.
    assert people.vouch(db.session.get(type(wa), wa.id), "wa_id", "16505551234").id != vouched.id


def test_an_older_merge_waits_for_the_later_one(db, world):
    from webapp.services import people
    from webapp.services.errors import Refused

    a, b, c = (_contact(db, world.a.web, f"v{i}") for i in range(3))
    people.merge_contacts(a, b, "m")
    [first] = _links(db, contact_id=b.id)
    people.merge_contacts(c, a, "m")  # a and b move on into c's person
    with pytest.raises(Refused):
        people.undo(first, "m")
    [later] = _links(db, contact_id=b.id, status="merged", person_id=c.person_id)
    assert {m.id for m in people.undo(later, "m")} == {a.id, b.id}
    people.undo(first, "m")  # now it can
    assert len({_person_of(db, x) for x in (a, b, c)}) == 3


def test_another_tenants_contacts_and_links_are_404_and_never_merged(member_client, db, world):
    from webapp.services import people

    b_web = _contact(db, _channel(db, world.other, "telegram"), "b-tg")
    b_offer, _typed_one = people.offer_from_form(b_web, {"phone": "+37120000001"})  # vouched and typed
    b_merge = people.merge_contacts(world.b_contact, world.b_typed, "b-owner")
    [b_merged] = _links(db, rule="manual")
    mine = _contact(db, world.a.web, "visitor-1")
    db.session.commit()
    before = {c: _person_of(db, c) for c in (world.b_contact, world.b_typed, b_web)}

    assert member_client.get(f"/contacts/{world.b_contact.id}").status_code == 404
    assert _post(member_client, f"/contacts/{world.b_contact.id}/merge", other_contact_id=str(mine.id)) \
        .status_code == 404
    assert _post(member_client, f"/contacts/{mine.id}/merge", other_contact_id=str(world.b_contact.id)) \
        .status_code == 404
    for link in (b_offer, b_merged):
        for action in ("accept", "dismiss", "undo"):
            assert _post(member_client, f"/people/links/{link.id}/{action}").status_code == 404
    assert {c: _person_of(db, c) for c in before} == before
    assert [(x.status) for x in _links(db, id=b_offer.id) + _links(db, id=b_merged.id)] == ["offered", "merged"]
    assert _person_of(db, mine) is None and b_merge.tenant_id == world.other.id
    body = member_client.get("/contacts", query_string={"q": "B "}).get_data(as_text=True)
    assert "B customer" not in body and "B typed" not in body


# -- the contacts list -----------------------------------------------------------------------------------
def _ids(resp) -> list[int]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return [int(x) for x in re.findall(r'data-testid="contact-row" data-id="(\d+)"', resp.get_data(as_text=True))]


def test_contacts_list_pages_by_keyset_and_searches(member_client, db, world, monkeypatch):
    from webapp.services import people

    monkeypatch.setattr(people, "PAGE_SIZE", 3)
    made = [_contact(db, world.a.web if i % 2 else world.a.tg, f"user-{i}", name=f"Person {i}",
                     username=f"nick{i}", phone=f"+3712000{i:04d}", email=f"p{i}@example.com") for i in range(8)]
    db.session.commit()
    expected = [c.id for c in reversed(made)]

    seen, url = [], "/contacts"
    for _page in range(10):
        resp = member_client.get(url)
        seen += _ids(resp)
        nxt = resp.get_data(as_text=True).split('data-testid="contacts-older" href="')
        if len(nxt) == 1:
            break
        url = nxt[1].split('"')[0].replace("&amp;", "&")
    assert seen == expected

    assert _ids(member_client.get("/contacts", query_string={"q": "person 3"})) == [made[3].id]
    assert _ids(member_client.get("/contacts", query_string={"q": "NICK5"})) == [made[5].id]
    assert _ids(member_client.get("/contacts", query_string={"q": "20000006"})) == [made[6].id]
    assert _ids(member_client.get("/contacts", query_string={"q": "p7@example"})) == [made[7].id]
    assert _ids(member_client.get("/contacts", query_string={"q": "user-1"})) == [made[1].id]
    assert _ids(member_client.get("/contacts", query_string={"q": "%"})) == []
    assert _ids(member_client.get("/contacts", query_string={"channel": "webchat"})) == [
        c.id for c in reversed(made) if c.channel_id == world.a.web.id][:3]
    both = member_client.get("/contacts", query_string={"channel": "telegram", "q": "person"})
    assert _ids(both) == [made[6].id, made[4].id, made[2].id]
    assert "channel=telegram" in both.get_data(as_text=True).split('data-testid="contacts-older" href="')[1][:200]


@pytest.mark.parametrize("cursor", ["garbage", "-1", "0", str(2**40), "1" * 30, "١٢"])
def test_a_bad_cursor_is_400(member_client, world, cursor):
    resp = member_client.get("/contacts", query_string={"after": cursor})
    assert resp.status_code == 400
    assert "not valid any more" in resp.get_data(as_text=True)


def test_pages_need_a_member(client, world):
    assert client.get("/contacts").status_code == 302
    assert client.get(f"/contacts/{world.b_contact.id}").status_code == 302


def test_a_merge_closes_the_offers_it_makes_moot(member_client, db, world):
    """An offer between two contacts a member then merged by hand is closed, not left with an Accept button
    that would record a merge nothing did (and that could never be undone)."""
    from webapp.services import people

    wa = _contact(db, world.a.wa, "37120000001", name="Ann WhatsApp")
    people.ensure_person(wa)
    web = _contact(db, world.a.web, "visitor-1", name="Ann web")
    [offer] = people.offer_from_form(web, {"phone": "+37120000001"})
    db.session.commit()
    assert _post(member_client, f"/contacts/{wa.id}/merge", other_contact_id=str(web.id)).status_code == 303
    [closed] = _links(db, id=offer.id)
    assert closed.status == "dismissed"
    assert f'data-testid="person_link_accept-{offer.id}"' not in _person_page(member_client, wa.id)


def test_accepting_an_offer_already_fulfilled_records_no_merge(db, world):
    from webapp.services import people

    wa = _contact(db, world.a.wa, "37120000001")
    target = people.ensure_person(wa)
    web = _contact(db, world.a.web, "visitor-1")
    [offer] = people.offer_from_form(web, {"phone": "+37120000001"})
    web.person_id = target.id  # joined by some other way meanwhile
    db.session.commit()
    people.accept(offer, "owner@x")
    assert offer.status == "dismissed" and offer.from_person_id is None
