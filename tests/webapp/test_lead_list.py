"""The leads list: search, filters, keyset pages, the bad-cursor answer and the streamed export of the
filtered list, each kept inside the signed-in tenant."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from webapp.services.exporting import LEAD_EXPORT_COLUMNS

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture()
def seeded(db, tenant, make_tenant):
    """Tenant A: leads with distinct names, phones, emails, texts, statuses, channels, days and flows;
    tenant B: a lead that matches every search and filter used here."""
    from webapp.models import Contact, Conversation, Lead
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow

    def world(owner, prefix):
        channel = add_channel(owner, "webchat")
        flow_a, flow_b = create_flow(owner, f"{prefix} promo"), create_flow(owner, f"{prefix} booking")
        contact = Contact(tenant_id=owner.id, channel_id=channel.id, external_user_id=f"{prefix}-v",
                          name="Zoë Contactname", phone="+37199990000", email="zoe@contact.example")
        db.session.add(contact)
        db.session.flush()
        conv_a = Conversation(tenant_id=owner.id, contact_id=contact.id, channel_id=channel.id, flow_id=flow_a.id)
        conv_b = Conversation(tenant_id=owner.id, contact_id=contact.id, channel_id=channel.id, flow_id=flow_b.id)
        db.session.add_all([conv_a, conv_b])
        db.session.flush()
        return contact, conv_a, conv_b, flow_a, flow_b

    contact, conv_a, conv_b, flow_a, flow_b = world(tenant, "A")
    leads = {
        "anna": Lead(tenant_id=tenant.id, fields={"name": "Anna Berg", "phone": "+37120000001"},
                     status="new", source_channel="telegram", created_at=T0, conversation_id=conv_a.id),
        "boris": Lead(tenant_id=tenant.id, fields={"name": "Boris", "email": "Boris@Mail.Example"},
                      status="won", source_channel="whatsapp", created_at=T0 - timedelta(days=2),
                      conversation_id=conv_b.id),
        "text": Lead(tenant_id=tenant.id, fields={"name": "Chen", "comment": "Wants 50% OFF_the haircut"},
                     status="contacted", source_channel="instagram", created_at=T0 - timedelta(days=5)),
        "contact": Lead(tenant_id=tenant.id, contact_id=contact.id, fields={"service": "nails"},
                        status="lost", source_channel="webchat", created_at=T0 - timedelta(days=9)),
        "cyrillic": Lead(tenant_id=tenant.id, fields={"name": "Анна Иванова"}, status="new",
                         source_channel="telegram", created_at=T0 - timedelta(days=12)),
    }
    db.session.add_all(leads.values())
    b = make_tenant("Tenant B")
    b_contact, b_conv, _b2, b_flow, _bf = world(b, "B")
    other = Lead(tenant_id=b.id, contact_id=b_contact.id, conversation_id=b_conv.id, status="new",
                 source_channel="telegram", created_at=T0,
                 fields={"name": "Anna Secret", "phone": "+37120000001", "email": "boris@mail.example",
                         "comment": "50% OFF_the haircut, Анна"})
    db.session.add(other)
    db.session.commit()
    return {"ids": {k: v.id for k, v in leads.items()}, "other": other.id, "flow_a": flow_a.id,
            "flow_b": flow_b.id, "b_flow": b_flow.id}


def _ids(resp) -> list[int]:
    import re

    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return [int(x) for x in re.findall(r'data-testid="lead-row" data-id="(\d+)"', resp.get_data(as_text=True))]


@pytest.mark.parametrize(("query", "expected"), [
    ("anna", ["anna"]),                        # the name, any case; B's "Anna Secret" never shows
    ("+3712000000", ["anna"]),                 # the phone
    ("boris@mail", ["boris"]),                 # the email, any case
    ("50% off_the", ["text"]),                 # free text; % and _ are literal, not wildcards
    ("zoë contact", ["contact"]),              # the contact's name
    ("99990000", ["contact"]),                 # the contact's phone
    ("ZOE@CONTACT", ["contact"]),              # the contact's email
    ("Анна", ["cyrillic"]),                    # non-ASCII text
    ("comment", []),                           # a field's key is not its value
    ("nobody-like-this", []),
])
def test_search_by_each_field(member_client, seeded, query, expected):
    ids = seeded["ids"]
    assert _ids(member_client.get("/leads", query_string={"q": query})) == [ids[k] for k in expected]


@pytest.mark.parametrize(("args", "expected"), [
    ({}, ["anna", "boris", "text", "contact", "cyrillic"]),
    ({"status": "won"}, ["boris"]),
    ({"status": "no-such-status"}, ["anna", "boris", "text", "contact", "cyrillic"]),
    ({"channel": "telegram"}, ["anna", "cyrillic"]),
    ({"from": "2026-11-15"}, ["anna", "boris", "text"]),
    ({"to": "2026-11-15"}, ["text", "contact", "cyrillic"]),     # inclusive: the whole day
    ({"from": "2026-11-11", "to": "2026-11-18"}, ["boris", "text", "contact"]),
    ({"flow": "flow_b"}, ["boris"]),
    ({"flow": "b_flow"}, []),                                      # B's flow id shows none of B's leads
    ({"q": "anna", "channel": "whatsapp"}, []),
    ({"status": "new", "channel": "telegram", "q": "+371"}, ["anna"]),
    ({"to": "9999-12-31"}, ["anna", "boris", "text", "contact", "cyrillic"]),  # the last day: no bound
    ({"from": "0001-01-01", "to": "9999-12-31"}, ["anna", "boris", "text", "contact", "cyrillic"]),
])
def test_each_filter(member_client, seeded, args, expected):
    args = {k: str(seeded[v]) if k == "flow" else v for k, v in args.items()}
    assert _ids(member_client.get("/leads", query_string=args)) == [seeded["ids"][k] for k in expected]


@pytest.mark.parametrize("args", [{"from": "yesterday"}, {"to": "2026-13-01"}, {"flow": "x"},
                                  {"flow": str(2**40)}, {"flow": "9" * 5000}])
def test_bad_filter_is_400(member_client, seeded, args):
    resp = member_client.get("/leads", query_string=args)
    assert resp.status_code == 400
    assert member_client.get("/leads.csv", query_string=args).status_code == 400


def test_keyset_pages_walk_ties_without_gaps_or_repeats(member_client, db, tenant, monkeypatch):
    from webapp.models import Lead
    from webapp.services import lead_list

    monkeypatch.setattr(lead_list, "PAGE_SIZE", 3)
    # Seven leads in the same microsecond, three older ones: the id breaks the tie.
    same = [Lead(tenant_id=tenant.id, fields={"name": f"tie {i}"}, created_at=T0) for i in range(7)]
    older = [Lead(tenant_id=tenant.id, fields={"name": f"old {i}"}, created_at=T0 - timedelta(hours=i + 1))
             for i in range(3)]
    db.session.add_all(same + older)
    db.session.commit()
    expected = [lead.id for lead in sorted(same, key=lambda x: -x.id)] + [lead.id for lead in older]

    seen, url = [], "/leads"
    for _page in range(10):
        resp = member_client.get(url)
        seen += _ids(resp)
        nxt = resp.get_data(as_text=True).split('data-testid="leads-older" href="')
        if len(nxt) == 1:
            break
        url = nxt[1].split('"')[0].replace("&amp;", "&")
    assert seen == expected

    # Filters ride along with the cursor.
    first = lead_list.page(tenant.id, lead_list.LeadFilters(q="tie"), size=3)
    second = lead_list.page(tenant.id, lead_list.LeadFilters(q="tie"), after=first.next_cursor, size=3)
    third = lead_list.page(tenant.id, lead_list.LeadFilters(q="tie"), after=second.next_cursor, size=3)
    assert [r.id for r in first.rows + second.rows + third.rows] == expected[:7]
    assert third.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "MTIz", "x" * 100, "LTEuMA", "OTk5OTk5OTk5OTk5OTk5OTk5OTkuMQ",
                                    "MS4zMDAwMDAwMDAwMDA"])
def test_bad_cursor_is_400_with_a_message(member_client, seeded, cursor):
    resp = member_client.get("/leads", query_string={"after": cursor})
    assert resp.status_code == 400
    assert "not valid any more" in resp.get_data(as_text=True)


def _csv(resp) -> list[dict[str, str]]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(LEAD_EXPORT_COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_the_filtered_rows_as_csv_and_json(member_client, db, seeded, monkeypatch):
    from webapp.services import exporting, lead_list

    monkeypatch.setattr(lead_list, "EXPORT_BATCH", 2)   # several keyset batches
    monkeypatch.setattr(exporting, "CHUNK_ROWS", 1)     # several chunks
    ids = seeded["ids"]

    resp = member_client.get("/leads.csv")
    assert resp.is_streamed
    rows = _csv(resp)
    assert [int(r["id"]) for r in rows] == [ids[k] for k in ("anna", "boris", "text", "contact", "cyrillic")]
    anna = rows[0]
    assert (anna["status"], anna["source_channel"], anna["name"], anna["phone"]) == (
        "new", "telegram", "Anna Berg", "+37120000001")
    assert json.loads(anna["fields"]) == {"name": "Anna Berg", "phone": "+37120000001"}
    assert "Secret" not in resp.get_data(as_text=True)

    filtered = _csv(member_client.get("/leads.csv", query_string={"channel": "telegram", "q": "Анна"}))
    assert [int(r["id"]) for r in filtered] == [ids["cyrillic"]]
    assert filtered[0]["name"] == "Анна Иванова"
    if db.engine.dialect.name == "postgresql":  # SQLite's lower() folds ASCII only
        filtered = _csv(member_client.get("/leads.csv", query_string={"q": "анна"}))
        assert [int(r["id"]) for r in filtered] == [ids["cyrillic"]]

    resp = member_client.get("/leads.json", query_string={"status": "new"})
    assert resp.status_code == 200 and resp.mimetype == "application/json" and resp.is_streamed
    data = json.loads(resp.get_data(as_text=True))
    assert [r["id"] for r in data] == [ids["anna"], ids["cyrillic"]]
    assert all(list(r) == LEAD_EXPORT_COLUMNS for r in data)
    assert json.loads(member_client.get("/leads.json", query_string={"q": "nobody"}).get_data()) == []
    assert _csv(member_client.get("/leads.csv", query_string={"q": "nobody"})) == []


def test_list_links_keep_the_filters(member_client, seeded):
    body = member_client.get("/leads", query_string={"q": "anna", "channel": "telegram"}).get_data(as_text=True)
    assert "/leads.csv?q=anna&amp;channel=telegram" in body
    assert "/leads.json?q=anna&amp;channel=telegram" in body


def test_another_tenants_leads_never_appear(member_client, seeded):
    other = seeded["other"]
    for args in ({}, {"q": "Secret"}, {"q": "anna"}, {"status": "new"}, {"channel": "telegram"},
                 {"flow": str(seeded["b_flow"])}, {"from": "2026-11-20", "to": "2026-11-20"}):
        assert other not in _ids(member_client.get("/leads", query_string=args))
        for path in ("/leads.csv", "/leads.json"):
            body = member_client.get(path, query_string=args).get_data(as_text=True)
            assert "Secret" not in body, (path, args)


def test_signed_out_gets_no_export(client, seeded):
    assert client.get("/leads.csv").status_code in (302, 401, 404)
    assert client.get("/leads.json").status_code in (302, 401, 404)
