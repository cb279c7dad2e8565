"""One person across channels: the merge rules in one place.

A contact is one channel identity (a WhatsApp number, a Telegram user, a web-chat visitor); a person
(webapp/models/people.py) is the customer behind one or more of them. Who joins whom is decided here:

- **Automatic, only where the platform vouches for the identity.** A WhatsApp contact's `wa_id` is its phone
  number; a Telegram user who shares a contact whose `user_id` is their own shared *their own* number
  (Telegram fills `user_id` in from the number, the sender cannot choose it). Such a phone is "vouched": the
  contact joins the tenant's person whose vouched phone it is, or its person records it. `Person.phone` and
  `Person.email` hold vouched values only.
- **Offered, never automatic.** A phone or email typed into a form (a lead's `phone`/`email`) that matches a
  person's vouched value or another contact's typed one becomes a `PersonLink(status="offered")`: nothing
  moves until a member accepts. Anyone can type a stranger's number; that never joins the stranger's history.
- **A member's merge** (rule `manual`) and **undo** of any merge.

Merging moves contacts between people and nothing else: every channel identity, its conversations and leads
stay as they were (conversations remain per contact; the person page shows them together). A merge moves
every contact of the source person and writes one `merged` link per moved contact with `from_person_id`, so
an undo puts exactly that group back. A contact gets a person of its own lazily, when it is first merged or
shown (no migration of existing rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from flask_babel import lazy_gettext as _
from sqlalchemy import and_, exists, or_, select

from ..extensions import db
from ..inputs import like_pattern, parse_row_id
from ..models import Channel, Contact, Conversation, Lead, Person, PersonLink
from ..models.base import utcnow
from ..tenancy import scoped
from . import crm_depth
from .errors import Refused

#: A phone shorter than this is no identity (a typo, an extension); E.164 allows at most 15 digits.
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 7, 15
#: A typed value matching more people than this is a shared number (a reception desk): the first few are offered.
MAX_OFFERS = 5
#: How far a chain of merges is followed from a vouched person that was merged into another.
MAX_HOPS = 10
SYSTEM = "system"


# -- normalising -----------------------------------------------------------------------------------------
def normalise_phone(value: Any) -> str:
    """E.164 digits without "+" (what `Person.phone` and WhatsApp's `wa_id` hold), or "" when it is no phone.
    An international number is read by `phonenumbers` (so "+44 (0)20 …" and "+4420…" agree); a number
    without a country code cannot be placed and is compared by its digits."""
    text = str(value or "").strip()[:64]
    digits = "".join(ch for ch in text if ch in "0123456789")
    if text.startswith("00"):
        text, digits = "+" + text[2:], digits[2:]
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS + 2:
        return ""
    try:
        number = phonenumbers.parse(text if text.startswith("+") else "+" + digits, None)
    except phonenumbers.NumberParseException:
        return digits[:MAX_PHONE_DIGITS + 2]
    if not phonenumbers.is_possible_number(number):
        return digits[:MAX_PHONE_DIGITS + 2]
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def normalise_email(value: Any) -> str:
    """Lower-cased and stripped; "" when it is no address."""
    text = str(value or "").strip().lower()
    return text if 3 <= len(text) <= 254 and "@" in text.strip("@") else ""


# -- people ----------------------------------------------------------------------------------------------
def _new_person(contact: Contact, phone: str = "") -> Person:
    person = Person(tenant_id=contact.tenant_id, name=str(contact)[:200], phone=phone)
    db.session.add(person)
    db.session.flush()
    contact.person_id = person.id
    return person


def _person(tenant_id: int, person_id: int | None) -> Person | None:
    if person_id is None:
        return None
    person = db.session.get(Person, person_id)
    return person if person is not None and person.tenant_id == tenant_id else None


def _channel_type(contact: Contact) -> str:
    return db.session.scalar(select(Channel.type).where(Channel.id == contact.channel_id,
                                                        Channel.tenant_id == contact.tenant_id)) or ""


def ensure_person(contact: Contact) -> Person:
    """The contact's person; one is made when it has none. A WhatsApp contact's id is its phone, so a
    contact seen before people existed follows the automatic rule now (`vouch`)."""
    person = _person(contact.tenant_id, contact.person_id)
    if person is not None:
        return person
    if _channel_type(contact) == "whatsapp" and contact.external_user_id.isdigit():
        return vouch(contact, "wa_id", contact.external_user_id)
    return _new_person(contact)


def _has_contacts(person: Person) -> bool:
    return bool(db.session.scalar(select(exists().where(Contact.tenant_id == person.tenant_id,
                                                        Contact.person_id == person.id))))


def resolve(person: Person) -> Person:
    """Where a person's contacts live now: a person merged into another (left without contacts) is followed
    along its merges, so a vouched phone still finds the customer after their person was merged away."""
    for _hop in range(MAX_HOPS):
        if _has_contacts(person):
            return person
        link = db.session.scalar(scoped(PersonLink, person.tenant_id).where(
            PersonLink.status == "merged", PersonLink.from_person_id == person.id)
            .order_by(PersonLink.id.desc()).limit(1))
        following = _person(person.tenant_id, link.person_id if link else None)
        if following is None or following.id == person.id:
            return person
        person = following
    return person


def person_with_phone(tenant_id: int, phone: str) -> Person | None:
    """The tenant's person whose vouched phone this is (the oldest, followed along its merges)."""
    found = db.session.scalar(scoped(Person, tenant_id).where(Person.phone == phone).order_by(Person.id).limit(1))
    return resolve(found) if found is not None else None


# -- merging ---------------------------------------------------------------------------------------------
def _link(contact: Contact, person: Person, rule: str, value: str, status: str, actor: str,
          from_person_id: int | None) -> PersonLink:
    link = PersonLink(tenant_id=contact.tenant_id, contact_id=contact.id, person_id=person.id,
                      from_person_id=from_person_id, rule=rule, value=value[:254], status=status,
                      actor=actor[:255], decided_at=utcnow() if status != "offered" else None)
    db.session.add(link)
    return link


def _move(source: Person, target: Person, rule: str, value: str, actor: str,
          trigger: PersonLink | None = None) -> list[PersonLink]:
    """Every contact of `source` joins `target`, each with a `merged` link naming `source` (the offered
    link `trigger`, when a member accepted one, becomes its contact's link)."""
    members = db.session.scalars(scoped(Contact, source.tenant_id).where(Contact.person_id == source.id)
                                 .order_by(Contact.id)).all()
    links = []
    for member in members:
        member.person_id = target.id
        if trigger is not None and trigger.contact_id == member.id:
            trigger.status, trigger.from_person_id, trigger.person_id = "merged", source.id, target.id
            trigger.actor, trigger.decided_at = actor[:255], utcnow()
            links.append(trigger)
        else:
            links.append(_link(member, target, rule, value, "merged", actor, source.id))
    # Offers between the two are moot now: closed, so no Accept button joins what is already joined.
    joined = scoped(Contact, source.tenant_id).with_only_columns(Contact.id).where(Contact.person_id == target.id)
    for offer in db.session.scalars(scoped(PersonLink, source.tenant_id).where(
            PersonLink.status == "offered", PersonLink.contact_id.in_(joined),
            PersonLink.person_id.in_((source.id, target.id)))):
        if offer is not trigger:
            offer.status, offer.actor, offer.decided_at = "dismissed", actor[:255], utcnow()
    if not target.name:
        target.name = source.name
    db.session.flush()
    return links


def vouch(contact: Contact, rule: str, phone: str, actor: str = SYSTEM) -> Person:
    """The platform vouched that `phone` is this contact's (rule `wa_id` or `telegram_contact`): the contact
    (with its person's other contacts) joins the tenant's person with that vouched phone, or its own person
    records the phone. A member's undo of the same join is respected: the same vouch does not redo it."""
    phone = normalise_phone(phone)
    current = _person(contact.tenant_id, contact.person_id)
    if not phone:
        return current or _new_person(contact)
    target = person_with_phone(contact.tenant_id, phone)
    if target is None:
        if current is None:
            return _new_person(contact, phone)
        if not current.phone:
            current.phone = phone
        return current
    if current is not None and current.id == target.id:
        return current
    undone = db.session.scalar(scoped(PersonLink, contact.tenant_id).with_only_columns(PersonLink.id).where(
        PersonLink.contact_id == contact.id, PersonLink.status == "undone", PersonLink.rule == rule,
        PersonLink.value == phone).limit(1))
    if undone is not None:
        return current or _new_person(contact)
    if current is None:
        contact.person_id = target.id
        _link(contact, target, rule, phone, "merged", actor, None)
        db.session.flush()
        return target
    _move(current, target, rule, phone, actor)
    return target


def vouched_phone(channel_type: str, created: bool, user_id: str, meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """(rule, phone) when this inbound message carries a phone the platform vouches for: a WhatsApp
    contact's first message (`wa_id`; a username-only user has none), a Telegram contact the sender shared
    of themselves (its `user_id` is the sender's). A contact card of someone else vouches for nothing."""
    if channel_type == "whatsapp" and created:
        phone = normalise_phone(meta.get("wa_id"))
        return ("wa_id", phone) if phone else None
    if channel_type == "telegram":
        shared = meta.get("contact")
        if isinstance(shared, dict) and user_id and str(shared.get("user_id") or "") == str(user_id):
            phone = normalise_phone(shared.get("phone_number"))
            return ("telegram_contact", phone) if phone else None
    return None


def on_inbound(tenant_id: int, channel_type: str, contact_id: int, created: bool, user_id: str,
               meta: Mapping[str, Any] | None) -> None:
    """The pipeline's hook, called for every inbound message once its contact exists: a dictionary look-up
    unless the message vouches for a phone (then the join is written in the turn's transaction)."""
    found = vouched_phone(channel_type, created, user_id, meta or {})
    if found is None:
        return
    contact = db.session.get(Contact, contact_id)
    if contact is not None and contact.tenant_id == tenant_id:
        vouch(contact, *found)


# -- offers ----------------------------------------------------------------------------------------------
def _phone_forms(raw: str, phone: str) -> list[str]:
    """How a typed phone may have been stored on a contact: as typed, as E.164 with and without "+"."""
    return sorted({raw.strip()[:32], "+" + phone, phone} - {""})


def _candidates(contact: Contact, rule: str, raw: str, value: str) -> Iterable[Person]:
    """People a typed value points at: a vouched phone/email, or another contact's typed one."""
    tenant_id = contact.tenant_id
    column = Person.phone if rule == "phone" else Person.email
    yield from db.session.scalars(scoped(Person, tenant_id).where(column == value).order_by(Person.id)
                                  .limit(MAX_OFFERS))
    typed = (Contact.phone.in_(_phone_forms(raw, value)) if rule == "phone"
             else Contact.email.in_(sorted({raw.strip()[:254], value})))
    for other in db.session.scalars(scoped(Contact, tenant_id).where(typed, Contact.id != contact.id)
                                    .order_by(Contact.id).limit(MAX_OFFERS)):
        yield ensure_person(other)


def offer_from_form(contact: Contact, fields: Mapping[str, Any]) -> list[PersonLink]:
    """A lead's typed `phone`/`email` that match someone else become offers (never a merge). An offer for the
    same contact and person that was made, dismissed or merged before is not made again."""
    offers: list[PersonLink] = []
    for rule, normalise in (("phone", normalise_phone), ("email", normalise_email)):
        raw = str(fields.get(rule) or "")
        value = normalise(raw)
        if not value:
            continue
        seen: set[int] = set()
        for found in _candidates(contact, rule, raw, value):
            person = resolve(found)
            if person.id in seen or person.id == contact.person_id or len(seen) >= MAX_OFFERS:
                continue
            seen.add(person.id)
            known = db.session.scalar(scoped(PersonLink, contact.tenant_id).with_only_columns(PersonLink.id).where(
                PersonLink.contact_id == contact.id, PersonLink.person_id == person.id,
                PersonLink.rule.in_(("phone", "email")), PersonLink.status != "undone").limit(1))
            if known is None:
                offers.append(_link(contact, person, rule, value, "offered", SYSTEM, None))
    if offers:
        db.session.flush()
    return offers


# -- a member's decisions --------------------------------------------------------------------------------
def _contact_of(link: PersonLink) -> Contact:
    contact = db.session.get(Contact, link.contact_id)
    if contact is None or contact.tenant_id != link.tenant_id:
        raise Refused(_("This contact no longer exists."), status=404)
    return contact


def accept(link: PersonLink, actor: str) -> Person:
    """A member accepts an offer: the contact, with every contact of its person, joins the offered person."""
    if link.status != "offered":
        raise Refused(_("This merge offer was already decided."), status=409)
    contact = _contact_of(link)
    target = _person(link.tenant_id, link.person_id)
    if target is None:
        raise Refused(_("This person no longer exists."), status=404)
    target = resolve(target)
    source = ensure_person(contact)
    if source.id == target.id:  # already one person (a later merge did it): nothing to join, nothing to undo
        link.status, link.actor, link.decided_at = "dismissed", actor[:255], utcnow()
        return target
    _move(source, target, link.rule, link.value, actor, trigger=link)
    return target


def dismiss(link: PersonLink, actor: str) -> None:
    if link.status != "offered":
        raise Refused(_("This merge offer was already decided."), status=409)
    link.status, link.actor, link.decided_at = "dismissed", actor[:255], utcnow()


def merge_contacts(contact: Contact, other: Contact, actor: str) -> Person:
    """A member's own merge: `other`, with every contact of its person, joins `contact`'s person."""
    if contact.tenant_id != other.tenant_id:
        raise Refused(_("No such contact."), status=404)
    target, source = ensure_person(contact), ensure_person(other)
    if target.id == source.id:
        raise Refused(_("These contacts are already one person."))
    _move(source, target, "manual", str(other)[:254], actor)
    return target


def _latest_merge(contact_id: int, tenant_id: int) -> int | None:
    return db.session.scalar(scoped(PersonLink, tenant_id).with_only_columns(PersonLink.id).where(
        PersonLink.contact_id == contact_id, PersonLink.status == "merged").order_by(PersonLink.id.desc()).limit(1))


def undo(link: PersonLink, actor: str) -> list[Contact]:
    """Undo a merge: the contacts it moved go back to the person they came from (a contact that had no
    person before an automatic join gets one of its own). Only the latest merge of a contact can be undone
    while the contact is still where it put it; a later merge is undone first."""
    if link.status != "merged":
        raise Refused(_("Only a merge can be undone."), status=409)
    contact = _contact_of(link)
    if contact.person_id != link.person_id or _latest_merge(contact.id, link.tenant_id) != link.id:
        raise Refused(_("A later merge moved this contact: undo that one first."), status=409)
    group = [link]
    if link.from_person_id is not None:
        group = list(db.session.scalars(scoped(PersonLink, link.tenant_id).where(
            PersonLink.status == "merged", PersonLink.person_id == link.person_id,
            PersonLink.from_person_id == link.from_person_id).order_by(PersonLink.id)))
    back = _person(link.tenant_id, link.from_person_id)
    moved = []
    now = utcnow()
    for item in group:
        member = db.session.get(Contact, item.contact_id)
        if (member is None or member.tenant_id != link.tenant_id or member.person_id != link.person_id
                or _latest_merge(member.id, link.tenant_id) != item.id):
            continue
        if back is None:
            _new_person(member)
        else:
            member.person_id = back.id
        item.status, item.actor, item.decided_at = "undone", actor[:255], now
        moved.append(member)
    db.session.flush()
    return moved


# -- reading: the contacts list and the person page -------------------------------------------------------
PAGE_SIZE = 50
MAX_SEARCH = 100
PAGE_LIMIT = 50  # conversations, leads and links shown on a person page


class ContactListError(ValueError):
    """A cursor the list cannot use: the route answers 400."""


def decode_after(value: str | None) -> int | None:
    """The contacts list's cursor: the last id shown (the list is newest first by id, so the id alone is a
    total order and `ix_contact_tenant_id (tenant_id, id)` walks it); anything else is ContactListError."""
    if not value:
        return None
    found = parse_row_id(value)
    if found is None:
        raise ContactListError("cursor")
    return found


@dataclass(slots=True)
class ContactRow:
    id: int
    name: str
    username: str
    phone: str
    email: str
    external_user_id: str
    person_id: int | None
    channel: str
    created_at: datetime | None

    @property
    def label(self) -> str:
        return self.name or self.username or self.external_user_id


def contacts_query(tenant_id: int, q: str = "", channel: str | None = None) -> Any:
    """The tenant's contacts newest first with their channel type; `q` matches name, username, phone, email
    or the channel's id of the person (a WhatsApp id is the phone), case-insensitively."""
    query = (scoped(Contact, tenant_id).with_only_columns(
        Contact.id, Contact.name, Contact.username, Contact.phone, Contact.email, Contact.external_user_id,
        Contact.person_id, Channel.type.label("channel"), Contact.created_at, maintain_column_froms=False)
        .select_from(Contact)
        .join(Channel, and_(Channel.id == Contact.channel_id, Channel.tenant_id == Contact.tenant_id))
        .order_by(Contact.id.desc()))
    if channel:
        query = query.where(Channel.type == channel)
    if q:
        pattern = like_pattern(q)
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Contact.name, Contact.username, Contact.phone, Contact.email, Contact.external_user_id))))
    return query


def contact_page(tenant_id: int, q: str = "", channel: str | None = None, after: str | None = None,
                 size: int | None = None) -> tuple[list[ContactRow], int | None]:
    """One page (`size + 1` rows tell whether there is a next one) and the cursor of the next page."""
    size = size or PAGE_SIZE
    query = contacts_query(tenant_id, q[:MAX_SEARCH], channel)
    last = decode_after(after)
    if last is not None:
        query = query.where(Contact.id < last)
    found = [ContactRow(*row) for row in db.session.execute(query.limit(size + 1)).all()]
    rows = found[:size]
    return rows, rows[-1].id if len(found) > size and rows else None


@dataclass(slots=True)
class PersonView:
    person: Person
    contacts: list[ContactRow]
    conversations: list[Conversation]
    leads: list[Lead]
    offers: list[PersonLink]
    history: list[PersonLink]
    labels: dict[int, str]  # contact id → how the page names it (for the links' lines)


def person_view(contact: Contact) -> PersonView:
    """What the person page shows: every channel identity of the contact's person, the offers that concern
    them (to join another person, or another contact to join this one) and the merge history, with the
    newest conversations and leads of all its contacts."""
    person = ensure_person(contact)
    tenant_id = contact.tenant_id
    contacts = [ContactRow(*row) for row in db.session.execute(
        contacts_query(tenant_id).where(Contact.person_id == person.id).limit(PAGE_LIMIT)).all()]
    ids = [c.id for c in contacts]
    # Within the plan's CRM history, like the inbox and the leads list they link to.
    conversations = list(db.session.scalars(crm_depth.only_visible(
        scoped(Conversation, tenant_id).where(Conversation.contact_id.in_(ids)), Conversation.updated_at, tenant_id)
        .order_by(Conversation.id.desc()).limit(PAGE_LIMIT)))
    leads = list(db.session.scalars(crm_depth.only_visible(
        scoped(Lead, tenant_id).where(Lead.contact_id.in_(ids)), Lead.created_at, tenant_id)
        .order_by(Lead.id.desc()).limit(PAGE_LIMIT)))
    concerns = or_(PersonLink.contact_id.in_(ids), PersonLink.person_id == person.id)
    offers = list(db.session.scalars(scoped(PersonLink, tenant_id).where(concerns, PersonLink.status == "offered")
                                     .order_by(PersonLink.id.desc()).limit(PAGE_LIMIT)))
    history = list(db.session.scalars(scoped(PersonLink, tenant_id).where(
        concerns, PersonLink.status.in_(("merged", "undone", "dismissed")))
        .order_by(PersonLink.id.desc()).limit(PAGE_LIMIT)))
    others = {link.contact_id for link in offers + history} - set(ids)
    labels = {c.id: c.label for c in contacts}
    if others:
        for row in db.session.execute(contacts_query(tenant_id).where(Contact.id.in_(others))).all():
            labels[row.id] = ContactRow(*row).label
    return PersonView(person, contacts, conversations, leads, offers, history, labels)
