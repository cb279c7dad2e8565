"""The lead page: status changes and notes on the timeline (in order, with who), the notes history kept,
custom lead fields as a plan feature (defined in Settings, typed values checked, exported), the whole
conversation in keyset pages, and another tenant's lead a 404."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest

from tests.helpers.web import csrf_token, login


def _lead(db: Any, tenant: Any, **values: Any) -> Any:
    from webapp.models import Lead

    lead = Lead(tenant_id=tenant.id, source_channel="webchat", fields={"name": "Anna", "phone": "+37120000001"},
                **values)
    db.session.add(lead)
    db.session.commit()
    return lead


def _signed_in(client: Any, tenant: Any) -> Any:
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    return client


def _timeline(body: str) -> list[str]:
    """The timeline's line kinds, top to bottom."""
    part = body.split('data-testid="lead-timeline"')[1].split("</ul>")[0]
    return re.findall(r'data-testid="timeline-(\w+)"', part)


def test_status_changes_and_notes_appear_on_the_timeline_in_order_with_author(member_client, db, tenant):
    from webapp.models import Lead, LeadEvent

    lead = _lead(db, tenant)
    token = csrf_token(member_client, f"/leads/{lead.id}")
    url = f"/leads/{lead.id}"
    for data in ({"status": "contacted"}, {"note": "Called, no answer."}, {"status": "won"},
                 {"note": "Booked for Friday."}):
        resp = member_client.post(url, data={**data, "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    # The same status again records nothing; an empty note is no note.
    assert member_client.post(url, data={"status": "won", "note": "  ", "csrf_token": token}).status_code == 302

    body = member_client.get(url).get_data(as_text=True)
    assert _timeline(body) == ["note", "status", "note", "status", "created"]  # newest first, creation last
    timeline = body.split('data-testid="lead-timeline"')[1]
    assert timeline.index("Booked for Friday.") < timeline.index("won") < timeline.index("Called, no answer.")
    assert timeline.count(tenant.owner_email) == 4
    assert "new &rarr; <strong>contacted</strong>" in timeline and "contacted &rarr; <strong>won</strong>" in timeline

    db.session.expire_all()
    stored = db.session.get(Lead, lead.id)
    assert stored.status == "won" and stored.note == "Booked for Friday."  # the latest note, for the list
    notes = db.session.query(LeadEvent).filter_by(lead_id=lead.id, kind="note").order_by(LeadEvent.id).all()
    assert [n.data["text"] for n in notes] == ["Called, no answer.", "Booked for Friday."]  # both kept
    statuses = db.session.query(LeadEvent).filter_by(lead_id=lead.id, kind="status").order_by(LeadEvent.id).all()
    assert [(e.data["from"], e.data["to"], e.author) for e in statuses] == [
        ("new", "contacted", tenant.owner_email), ("contacted", "won", tenant.owner_email)]


def test_unknown_status_is_a_400_and_changes_nothing(member_client, db, tenant):
    from webapp.models import Lead, LeadEvent

    lead = _lead(db, tenant)
    token = csrf_token(member_client, f"/leads/{lead.id}")
    resp = member_client.post(f"/leads/{lead.id}", data={"status": "married", "note": "hi", "csrf_token": token})
    assert resp.status_code == 400 and "Unknown status." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "new"
    assert db.session.query(LeadEvent).count() == 0


def test_long_timeline_pages_with_older_entries(member_client, db, tenant, monkeypatch):
    from webapp.services import lead_detail

    monkeypatch.setattr(lead_detail, "TIMELINE_PAGE", 2)
    lead = _lead(db, tenant)
    token = csrf_token(member_client, f"/leads/{lead.id}")
    for n in range(5):
        member_client.post(f"/leads/{lead.id}", data={"note": f"note {n}", "csrf_token": token})
    seen, url = [], f"/leads/{lead.id}"
    while url:
        body = member_client.get(url).get_data(as_text=True)
        seen += re.findall(r"note (\d)", body.split('data-testid="lead-timeline"')[1].split("</ul>")[0])
        found = re.search(r'data-testid="timeline-older" href="([^"]+)"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == ["4", "3", "2", "1", "0"]
    assert _timeline(body)[-1] == "created"


# -- the conversation ----------------------------------------------------------------------------------
@pytest.fixture()
def talk(db, tenant):
    from webapp.models import Contact, Conversation, Message
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "webchat")
    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id="v1", name="Anna")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id)
    db.session.add(conv)
    db.session.flush()
    for n in range(7):
        db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id,
                               direction="in" if n % 2 == 0 else "out", text=f"line {n}"))
    db.session.commit()
    return _lead(db, tenant, conversation_id=conv.id, contact_id=contact.id)


def _messages(body: str) -> list[str]:
    return re.findall(r'data-testid="lead-message" data-id="\d+">(line \d)', body)


def test_the_whole_conversation_is_shown_in_order(member_client, talk):
    body = member_client.get(f"/leads/{talk.id}").get_data(as_text=True)
    assert _messages(body) == [f"line {n}" for n in range(7)]
    assert 'data-testid="earlier-messages"' not in body


def test_a_photo_and_a_location_show_on_the_lead_page(member_client, db, talk):
    from webapp.models import Conversation, Message

    media = [{"kind": "image", "url": "https://cdn.example/p.jpg"}, {"kind": "location", "latitude": 56.95,
                                                                     "longitude": 24.1, "title": "Salon"}]
    db.session.add(Message(tenant_id=talk.tenant_id, conversation_id=talk.conversation_id,
                           channel_id=db.session.get(Conversation, talk.conversation_id).channel_id,
                           direction="in", text="", payload={"content": "image", "media": media}))
    db.session.commit()
    body = member_client.get(f"/leads/{talk.id}").get_data(as_text=True)
    assert 'data-kind="image"' in body and "Photo" in body and 'href="https://cdn.example/p.jpg"' in body
    assert 'data-kind="location"' in body and "Salon" in body and "openstreetmap.org/?mlat=56.95" in body


def test_a_long_conversation_pages_back_with_earlier_messages(member_client, talk, monkeypatch):
    from webapp.services import lead_detail

    monkeypatch.setattr(lead_detail, "MESSAGES_PAGE", 3)
    pages, url = [], f"/leads/{talk.id}"
    while url:
        body = member_client.get(url).get_data(as_text=True)
        pages.append(_messages(body))
        found = re.search(r'data-testid="earlier-messages" href="([^"]+)"', body)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert pages == [["line 4", "line 5", "line 6"], ["line 1", "line 2", "line 3"], ["line 0"]]


@pytest.mark.parametrize("arg", ["messages_before", "timeline_before"])
def test_bad_page_link_is_a_400(member_client, talk, arg):
    resp = member_client.get(f"/leads/{talk.id}", query_string={arg: "garbage!"})
    assert resp.status_code == 400 and "not valid any more" in resp.get_data(as_text=True)


def test_another_tenants_lead_is_a_404(member_client, db, make_tenant):
    other = make_tenant("Tenant B", plan="PRO")
    lead = _lead(db, other)
    token = csrf_token(member_client, "/settings/faq")
    assert member_client.get(f"/leads/{lead.id}").status_code == 404
    assert member_client.post(f"/leads/{lead.id}", data={"status": "won", "csrf_token": token}).status_code == 404
    assert member_client.post(f"/leads/{lead.id}/fields", data={"csrf_token": token}).status_code == 404


# -- custom fields -------------------------------------------------------------------------------------
def test_custom_fields_are_a_plan_feature(client, db, make_tenant):
    from webapp.models import Tenant

    start = make_tenant("Small Shop", plan="START")
    _signed_in(client, start)
    lead = _lead(db, start)
    page = client.get("/settings/lead-fields")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'data-testid="lead-fields-plan"' in body and "Business and Pro plans" in body
    assert 'data-testid="lead-field-form"' not in body
    assert 'data-testid="custom-fields-form"' not in client.get(f"/leads/{lead.id}").get_data(as_text=True)

    token = csrf_token(client, f"/leads/{lead.id}")
    refused = client.post("/settings/lead-fields", data={"key": "budget", "label": "Budget", "type": "number",
                                                         "csrf_token": token})
    assert refused.status_code == 403 and "Business and Pro plans" in refused.get_data(as_text=True)
    refused = client.post(f"/leads/{lead.id}/fields", data={"custom-budget": "5", "csrf_token": token})
    assert refused.status_code == 403 and "Business and Pro plans" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert "lead_fields" not in (db.session.get(Tenant, start.id).settings or {})


FIELDS = [
    {"key": "budget", "label": "Budget", "type": "number"},
    {"key": "visit", "label": "Visit day", "type": "date"},
    {"key": "service", "label": "Service", "type": "choice", "options": "Nails\nHair\n"},
    {"key": "comment", "label": "Comment", "type": "text"},
]


@pytest.fixture()
def business(client, db, make_tenant):
    tenant = make_tenant("Busy Salon", plan="BUSINESS")
    _signed_in(client, tenant)
    token = csrf_token(client, "/settings/lead-fields")
    for spec in FIELDS:
        resp = client.post("/settings/lead-fields", data={**spec, "csrf_token": token})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return tenant


def test_business_defines_fields_and_sets_values(client, db, business):
    from webapp.models import Lead, LeadEvent, Tenant

    db.session.expire_all()
    stored = db.session.get(Tenant, business.id).settings["lead_fields"]
    assert [f["key"] for f in stored] == ["budget", "visit", "service", "comment"]
    assert stored[2]["options"] == ["Nails", "Hair"]
    assert 'data-testid="lead-field-budget"' in client.get("/settings/lead-fields").get_data(as_text=True)

    lead = _lead(db, business)
    body = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-testid="custom-fields-form"' in body and 'name="custom-visit"' in body and "Visit day" in body
    token = csrf_token(client, f"/leads/{lead.id}")
    resp = client.post(f"/leads/{lead.id}/fields", data={
        "csrf_token": token, "custom-budget": "1 500,50", "custom-visit": "2026-12-24", "custom-service": "Hair",
        "custom-comment": "Prefers mornings", "custom-unknown": "ignored"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).custom == {"budget": 1500.5, "visit": "2026-12-24", "service": "Hair",
                                                    "comment": "Prefers mornings"}
    events = db.session.query(LeadEvent).filter_by(lead_id=lead.id, kind="field").all()
    assert sorted(e.data["key"] for e in events) == ["budget", "comment", "service", "visit"]
    assert all(e.author == business.owner_email for e in events)

    # Clearing one value and keeping the others records one change.
    client.post(f"/leads/{lead.id}/fields", data={
        "csrf_token": token, "custom-budget": "1500.5", "custom-visit": "2026-12-24", "custom-service": "",
        "custom-comment": "Prefers mornings"})
    db.session.expire_all()
    assert "service" not in db.session.get(Lead, lead.id).custom
    assert db.session.query(LeadEvent).filter_by(lead_id=lead.id, kind="field").count() == 5
    body = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Service: Hair &rarr; <strong>—</strong>" in body


@pytest.mark.parametrize(("field", "value", "message"), [
    ("budget", "a lot", "Not a number."), ("budget", "1e400", "Not a number."), ("budget", "NaN", "Not a number."),
    ("visit", "24.12.2026", "Not a date"), ("visit", "2026-02-30", "Not a date"),
    ("service", "Massage", "Pick one of the options."), ("comment", "x" * 501, "At most 500"),
])
def test_bad_value_is_a_form_error_and_saves_nothing(client, db, business, field, value, message):
    from webapp.models import Lead, LeadEvent

    lead = _lead(db, business)
    token = csrf_token(client, f"/leads/{lead.id}")
    resp = client.post(f"/leads/{lead.id}/fields", data={"csrf_token": token, "custom-budget": "10",
                                                         f"custom-{field}": value})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and f'data-testid="field-error-{field}"' in body and message in body
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).custom == {}
    assert db.session.query(LeadEvent).count() == 0


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"key": "Budget!", "label": "B", "type": "text"}, "key", "lowercase"),
    ({"key": "budget", "label": "Again", "type": "text"}, "key", "exists already"),
    ({"key": "size", "label": "", "type": "text"}, "label", "label of 1"),
    ({"key": "size", "label": "Size", "type": "choice", "options": "\n \n"}, "options", "at least one option"),
    ({"key": "size", "label": "Size", "type": "colour"}, "type", "Not a valid choice"),
])
def test_bad_definition_is_a_form_error(client, db, business, data, field, message):
    from webapp.models import Tenant

    token = csrf_token(client, "/settings/lead-fields")
    resp = client.post("/settings/lead-fields", data={**data, "csrf_token": token})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Tenant, business.id).settings["lead_fields"]) == len(FIELDS)


def test_removing_a_definition_keeps_the_values(client, db, business):
    from webapp.models import Lead, Tenant

    lead = _lead(db, business, custom={"budget": 10})
    token = csrf_token(client, "/settings/lead-fields")
    assert client.post("/settings/lead-fields/delete", data={"key": "budget", "csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert [f["key"] for f in db.session.get(Tenant, business.id).settings["lead_fields"]] == [
        "visit", "service", "comment"]
    assert db.session.get(Lead, lead.id).custom == {"budget": 10}
    assert client.post("/settings/lead-fields/delete", data={"key": "nope", "csrf_token": token}).status_code == 303


def test_custom_fields_are_exported_as_extra_columns(client, db, business):
    from webapp.services.exporting import LEAD_EXPORT_COLUMNS

    _lead(db, business, custom={"budget": 250, "service": "Nails"})
    _lead(db, business)
    resp = client.get("/leads.csv")
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    extra = ["custom_budget", "custom_visit", "custom_service", "custom_comment"]
    assert list(rows[0]) == [*LEAD_EXPORT_COLUMNS, *extra]
    assert [(r["custom_budget"], r["custom_service"], r["custom_visit"]) for r in rows] == [
        ("", "", ""), ("250", "Nails", "")]
    data = json.loads(client.get("/leads.json").get_data(as_text=True))
    assert list(data[1]) == [*LEAD_EXPORT_COLUMNS, *extra]
    assert (data[1]["custom_budget"], data[1]["custom_service"]) == ("250", "Nails")
