"""The plan's CRM history depth (crm_history_days), enforced in one place (webapp/services/crm_depth.py):
on START (30 days) a 40-day-old lead is hidden from the list, both exports, `flask leads export`, the home
page and the lead page (which says why); a conversation last active 40 days ago is hidden from the inbox and its page;
the limit is shown; nothing is deleted, and a plan with a longer history (or none) shows them again."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from tests.helpers.web import login


@pytest.fixture()
def world(client, db, make_tenant):
    from webapp.models import Contact, Conversation, Lead
    from webapp.models.base import utcnow
    from webapp.services.channels import add_channel

    tenant = make_tenant("Small Shop", plan="START")
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    channel = add_channel(tenant, "webchat")
    now = utcnow()
    convs = {}
    for name, age in (("recent", 2), ("old", 40)):
        contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=f"v-{name}", name=name)
        db.session.add(contact)
        db.session.flush()
        convs[name] = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id,
                                   updated_at=now - timedelta(days=age), created_at=now - timedelta(days=age))
        db.session.add(convs[name])
    recent = Lead(tenant_id=tenant.id, fields={"name": "Recent Rita"}, source_channel="webchat",
                  created_at=now - timedelta(days=2))
    old = Lead(tenant_id=tenant.id, fields={"name": "Old Oskar"}, source_channel="webchat",
               created_at=now - timedelta(days=40))
    db.session.add_all([recent, old])
    db.session.commit()
    return {"tenant": tenant, "recent": recent.id, "old": old.id, "recent_conv": convs["recent"].id,
            "old_conv": convs["old"].id}


def _lead_ids(client: Any) -> list[int]:
    body = client.get("/leads").get_data(as_text=True)
    return [int(x) for x in re.findall(r'data-testid="lead-row" data-id="(\d+)"', body)]


def _inbox_ids(client: Any) -> list[int]:
    return [row["id"] for row in client.get("/inbox.json").get_json()["rows"]]


def _csv_names(client: Any) -> list[str]:
    return [r["name"] for r in csv.DictReader(io.StringIO(client.get("/leads.csv").get_data(as_text=True)))]


def _cli_names(app: Any, tenant_id: int) -> list[str]:
    result = app.test_cli_runner().invoke(args=["leads", "export", "--tenant", str(tenant_id)])
    assert result.exit_code == 0, result.output
    return [r["name"] for r in json.loads(result.output)]


def _set_plan(db: Any, tenant_id: int, code: str) -> None:
    from webapp.models import Tenant
    from webapp.plans import plan_by_code

    db.session.get(Tenant, tenant_id).plan_id = plan_by_code(code).id
    db.session.commit()
    db.session.expire_all()


def _assert_everything_visible(app, client, world) -> None:
    assert _lead_ids(client) == [world["recent"], world["old"]]
    assert _csv_names(client) == ["Recent Rita", "Old Oskar"]
    assert _cli_names(app, world["tenant"].id) == ["Recent Rita", "Old Oskar"]
    assert client.get(f"/leads/{world['old']}").status_code == 200
    assert client.get(f"/conversations/{world['old_conv']}").status_code == 200
    assert _inbox_ids(client) == [world["recent_conv"], world["old_conv"]]
    assert "Old Oskar" in client.get("/").get_data(as_text=True)


def test_start_plan_hides_older_leads_and_conversations_everywhere(app, client, db, world):
    from webapp.models import Conversation, Lead

    assert _lead_ids(client) == [world["recent"]]
    assert _csv_names(client) == ["Recent Rita"]
    assert [r["name"] for r in json.loads(client.get("/leads.json").get_data(as_text=True))] == ["Recent Rita"]
    assert _cli_names(app, world["tenant"].id) == ["Recent Rita"]
    assert _inbox_ids(client) == [world["recent_conv"]]
    home = client.get("/").get_data(as_text=True)
    assert "Recent Rita" in home and "Old Oskar" not in home

    page = client.get(f"/leads/{world['old']}")
    body = page.get_data(as_text=True)
    assert page.status_code == 403 and 'data-testid="lead-beyond-history"' in body
    assert "last 30 days" in body and "Old Oskar" not in body
    assert client.get(f"/leads/{world['recent']}").status_code == 200
    page = client.get(f"/conversations/{world['old_conv']}")
    assert page.status_code == 403 and "last 30 days" in page.get_data(as_text=True)
    assert client.get(f"/conversations/{world['recent_conv']}").status_code == 200

    # The limit is shown where the lists are cut.
    for path in ("/leads", "/inbox"):
        assert "Your plan shows the last 30 days." in client.get(path).get_data(as_text=True), path

    # Hidden, never deleted.
    assert db.session.get(Lead, world["old"]) is not None
    assert db.session.get(Conversation, world["old_conv"]) is not None


def test_the_hidden_lead_cannot_be_changed_either(client, db, world):
    from tests.helpers.web import csrf_token
    from webapp.models import Lead

    token = csrf_token(client, f"/leads/{world['recent']}")
    resp = client.post(f"/leads/{world['old']}", data={"status": "won", "csrf_token": token})
    assert resp.status_code == 403
    db.session.expire_all()
    assert db.session.get(Lead, world["old"]).status == "new"


@pytest.mark.parametrize("plan", ["BUSINESS", "PRO"])
def test_a_plan_with_more_history_shows_them_again(app, client, db, world, plan):
    _set_plan(db, world["tenant"].id, plan)
    _assert_everything_visible(app, client, world)
    notice = client.get("/leads").get_data(as_text=True)
    if plan == "PRO":  # unlimited: no notice at all
        assert 'data-testid="crm-depth"' not in notice
    else:
        assert "Your plan shows the last 365 days." in notice
    # And back down: hidden again, still stored.
    _set_plan(db, world["tenant"].id, "START")
    assert _lead_ids(client) == [world["recent"]]


def test_visible_since_follows_the_plan(db, world):
    from webapp.models import Tenant
    from webapp.models.base import utcnow
    from webapp.services import crm_depth

    tenant = db.session.get(Tenant, world["tenant"].id)
    since = crm_depth.visible_since(tenant)
    assert since is not None and abs((utcnow() - since) - timedelta(days=30)) < timedelta(minutes=1)
    assert crm_depth.is_visible(tenant, utcnow() - timedelta(days=29))
    assert not crm_depth.is_visible(tenant, utcnow() - timedelta(days=31))
    _set_plan(db, tenant.id, "PRO")
    assert crm_depth.visible_since(world["tenant"].id) is None


def test_the_person_page_and_notifications_stay_within_the_history(client, db, world):
    """A hidden lead's values are not shown through its notification or its contact's person page."""
    from webapp.models import Conversation, Lead, Notification
    from webapp.models.base import utcnow

    old_conv = db.session.get(Conversation, world["old_conv"])
    lead = db.session.get(Lead, world["old"])
    lead.contact_id, lead.conversation_id = old_conv.contact_id, old_conv.id
    db.session.add(Notification(tenant_id=world["tenant"].id, kind="lead", title="New lead: Old Oskar",
                                body="phone +49 1111", created_at=utcnow() - timedelta(days=40)))
    db.session.add(Notification(tenant_id=world["tenant"].id, kind="lead", title="New lead: Recent Rita"))
    db.session.commit()
    notes = client.get("/notifications").get_data(as_text=True)
    assert "Recent Rita" in notes and "Old Oskar" not in notes and "Your plan shows the last 30 days." in notes
    person = client.get(f"/contacts/{old_conv.contact_id}").get_data(as_text=True)
    assert f"/leads/{world['old']}" not in person and f"/conversations/{world['old_conv']}" not in person
    _set_plan(db, world["tenant"].id, "PRO")
    assert "Old Oskar" in client.get("/notifications").get_data(as_text=True)
    person = client.get(f"/contacts/{old_conv.contact_id}").get_data(as_text=True)
    assert f"/leads/{world['old']}" in person and f"/conversations/{world['old_conv']}" in person

