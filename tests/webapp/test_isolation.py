"""Tenant isolation sweep: signed in as tenant A, every tenant-scoped route with tenant B's ids is a 404.

Routes are discovered from the URL map, so a new route with an id is swept automatically; an id argument
this test does not know fails loudly instead of being skipped. List routes without ids (the inbox, the
leads, the notifications …) are swept too: plain, and with B's ids in the query arguments a list filters
by, they show none of B's data.
"""

from __future__ import annotations

import pytest

SCOPED_PREFIXES = ("/channels", "/conversations", "/leads", "/notifications", "/flows", "/api/", "/editor",
                   "/events", "/settings", "/inbox", "/connect", "/contacts", "/people")


@pytest.fixture()
def other_tenant_objects(db, make_tenant):
    from datetime import timedelta

    from webapp.models import (
        AuditEntry,
        Contact,
        Conversation,
        InboundEvent,
        Invitation,
        Lead,
        Message,
        Notification,
        Person,
        PersonLink,
        PromptLayer,
        TestConversation,
        User,
    )
    from webapp.models.base import utcnow
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow

    b = make_tenant("Tenant B")
    channel = add_channel(b, "webchat")
    contact = Contact(tenant_id=b.id, channel_id=channel.id, external_user_id="visitor-b", name="Secret Bob")
    person = Person(tenant_id=b.id, name="Secret Bob")
    db.session.add_all([contact, person])
    db.session.flush()
    contact.person_id = person.id
    other = Contact(tenant_id=b.id, channel_id=channel.id, external_user_id="visitor-b2", name="Secret Bob 2",
                    person_id=person.id)
    db.session.add(other)
    db.session.flush()
    link = PersonLink(tenant_id=b.id, contact_id=other.id, person_id=person.id, rule="phone", value="79001234567",
                      status="offered")
    member = User(email="operator@tenant-b.example.com", password_hash="x", tenant_id=b.id, role="operator")
    invitation = Invitation(tenant_id=b.id, email="invitee@tenant-b.example.com", role="operator",
                            token_hash="b" * 64, expires_at=utcnow() + timedelta(days=1))
    entry = AuditEntry(tenant_id=b.id, actor="owner@tenant-b.example.com", action="login", target="B's")
    db.session.add_all([link, member, invitation, entry])
    db.session.flush()
    conv = Conversation(tenant_id=b.id, contact_id=contact.id, channel_id=channel.id)
    db.session.add(conv)
    db.session.flush()
    db.session.add(Message(tenant_id=b.id, conversation_id=conv.id, channel_id=channel.id, direction="in",
                           text="B's private message"))
    reply = Message(tenant_id=b.id, conversation_id=conv.id, channel_id=channel.id, direction="out",
                    text="B's reply", delivery_status="unknown")
    db.session.add(reply)
    lead = Lead(tenant_id=b.id, contact_id=contact.id, fields={"name": "Secret Bob"})
    note = Notification(tenant_id=b.id, kind="lead", title="B's lead")
    flow = create_flow(b, "B flow")
    event = InboundEvent(tenant_id=b.id, channel_id=channel.id, external_id="b-1", kind="webchat",
                         status="failed", error="B's failure")
    layer = PromptLayer(tenant_id=b.id, kind="tenant", key="tone", name="B's layer", text="B's secret prompt")
    db.session.add_all([lead, note, event, layer])
    db.session.flush()
    saved_test = TestConversation(tenant_id=b.id, flow_id=flow.id, name="B's test", messages=["B's words"])
    db.session.add(saved_test)
    db.session.commit()
    return {"channel_id": channel.id, "conversation_id": conv.id, "lead_id": lead.id,
            "notification_id": note.id, "flow_id": flow.id, "version": 1, "number": 1,
            "test_id": saved_test.id, "case_id": 1, "event_id": event.id, "index": 0,
            "layer_id": layer.id, "message_id": reply.id, "contact_id": contact.id, "person_id": person.id,
            "link_id": link.id, "member_id": member.id, "invitation_id": invitation.id, "entry_id": entry.id}


def scoped_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments and rule.rule.startswith(SCOPED_PREFIXES):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_sweep_finds_routes(app):
    assert len(list(scoped_rules(app))) >= 6


def test_every_scoped_route_hides_other_tenants_data(app, member_client, other_tenant_objects):
    from tests.helpers.web import csrf_token

    token = csrf_token(member_client)
    checked = []
    for rule, method in scoped_rules(app):
        unknown = rule.arguments - set(other_tenant_objects)
        assert not unknown, f"{rule.rule}: teach the isolation sweep about {unknown}"
        path = rule.build({k: other_tenant_objects[k] for k in rule.arguments})[1]
        body_kwargs = {} if method == "GET" else (
            {"json": {}} if path.startswith("/api/") else {"data": {"csrf_token": token}})
        resp = member_client.open(path, method=method, headers={"X-CSRFToken": token}, **body_kwargs)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 404, f"{method} {path} answered {resp.status_code}"
        assert "Secret Bob" not in body and "B's" not in body
        checked.append(path)
    assert checked


def list_rules(app):
    """GET routes without URL arguments under the scoped prefixes, and the overview page."""
    for rule in app.url_map.iter_rules():
        if not rule.arguments and "GET" in rule.methods and (rule.rule == "/" or rule.rule.startswith(
                SCOPED_PREFIXES)):
            yield rule


def test_sweep_finds_list_routes(app):
    found = {rule.rule for rule in list_rules(app)}
    assert {"/", "/inbox", "/inbox.json", "/leads", "/notifications", "/conversations"} <= found


def test_every_list_route_hides_other_tenants_data(app, member_client, other_tenant_objects):
    b = other_tenant_objects
    # The query arguments a list may filter by, naming B's objects: ignored or refused, never followed.
    by_b = (f"channel={b['channel_id']}&channel_id={b['channel_id']}&conversation={b['conversation_id']}"
            f"&conversation_id={b['conversation_id']}&lead={b['lead_id']}&flow_id={b['flow_id']}")
    checked = []
    for rule in list_rules(app):
        for path in (rule.rule, f"{rule.rule}?{by_b}"):
            resp = member_client.get(path)
            body = resp.get_data(as_text=True)
            assert resp.status_code < 500, f"GET {path} answered {resp.status_code}"
            assert "Secret Bob" not in body and "B's" not in body, f"GET {path} shows tenant B's data"
            checked.append(path)
    assert member_client.get(f"/inbox?channel={b['channel_id']}").status_code == 404
    assert member_client.get(f"/inbox.json?channel={b['channel_id']}").status_code == 404
    assert len(checked) >= 12
