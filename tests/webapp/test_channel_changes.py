"""Who connected, reconnected or removed a channel, and when, is kept with the channel whatever the path
(the tenant's pages, `flask channel add`, /admin); removing a channel frees its account and the plan's room
but keeps the channel's conversations and history."""

from __future__ import annotations

from tests.helpers.web import csrf_token, login


def _changes(db, channel_id: int) -> list[tuple[str, str]]:
    from webapp.models import ChannelChange

    db.session.expire_all()
    return [(c.action, c.actor) for c in db.session.query(ChannelChange).filter_by(channel_id=channel_id)
            .order_by(ChannelChange.id)]


def test_removing_a_channel_keeps_its_history_and_frees_the_room(app, db, member_client, tenant):
    from webapp.models import Channel, Contact, Conversation
    from webapp.services.channels import add_channel, channel_room

    channel = add_channel(tenant, "webchat", name="Shop chat", actor=tenant.owner_email)
    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id="visitor-1")
    db.session.add(contact)
    db.session.flush()
    db.session.add(Conversation(tenant_id=tenant.id, channel_id=channel.id, contact_id=contact.id))
    db.session.commit()
    key = channel.public_key
    assert app.test_client().get(f"/webchat/{key}/config").status_code == 200

    page = member_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert 'data-testid="channel-history"' in page and tenant.owner_email in page
    resp = member_client.post(f"/channels/{channel.id}/remove",
                              data={"csrf_token": csrf_token(member_client, f"/channels/{channel.id}")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/channels")

    db.session.expire_all()
    removed = db.session.get(Channel, channel.id)
    assert removed.status == "removed" and removed.credentials == {} and removed.external_id is None
    assert db.session.query(Conversation).filter_by(channel_id=channel.id).count() == 1
    assert _changes(db, channel.id) == [("connected", tenant.owner_email), ("removed", tenant.owner_email)]
    assert channel_room(tenant)[0] == 0
    assert f'href="/channels/{channel.id}"' not in member_client.get("/channels").get_data(as_text=True)
    assert 'data-testid="channel-removed"' in member_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert app.test_client().get(f"/webchat/{key}/config").status_code == 404


def test_removing_a_telegram_bot_deletes_its_webhook(app, db, member_client, tenant, telegram_api, monkeypatch):
    from webapp.services.channels import add_channel

    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    channel = add_channel(tenant, "telegram", token=telegram_api.token)
    member_client.post(f"/channels/{channel.id}/remove",
                       data={"csrf_token": csrf_token(member_client, f"/channels/{channel.id}")})
    assert telegram_api.requests_to("/deleteWebhook")


def test_another_tenants_channel_cannot_be_removed(db, make_tenant, member_client):
    from webapp.services.channels import add_channel

    theirs = add_channel(make_tenant("Other"), "webchat")
    resp = member_client.post(f"/channels/{theirs.id}/remove", data={"csrf_token": csrf_token(member_client)})
    assert resp.status_code == 404 and _changes(db, theirs.id) == [("connected", "")]


def test_cli_and_admin_are_recorded(app, db, tenant, staff_user, client):
    from webapp.models import Channel

    result = app.test_cli_runner().invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "webchat"])
    assert result.exit_code == 0, result.output
    cli_channel = db.session.query(Channel).order_by(Channel.id.desc()).first()
    assert _changes(db, cli_channel.id) == [("connected", "cli")]

    login(client, staff_user.email, staff_user.raw_password)
    page = client.get("/admin/channel/new/").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    resp = client.post("/admin/channel/new/", data={"csrf_token": token, "tenant": str(tenant.id),
                                                    "type": "whatsapp", "external_id": "1065",
                                                    "new_token": "wa-token", "status": "active"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    wa = db.session.query(Channel).filter_by(external_id="1065").one()
    assert _changes(db, wa.id) == [("connected", "staff:staff@platform.example.com")]

    edit = client.get(f"/admin/channel/edit/?id={wa.id}").get_data(as_text=True)
    token = edit.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    resp = client.post(f"/admin/channel/edit/?id={wa.id}",
                       data={"csrf_token": token, "tenant": str(tenant.id), "type": "whatsapp", "name": "WA",
                             "external_id": "1065", "new_token": "wa-token-2", "status": "active"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert _changes(db, wa.id)[-1] == ("reconnected", "staff:staff@platform.example.com")
    db.session.expire_all()
    assert db.session.get(Channel, wa.id).credentials["token"] == "wa-token-2"
    # The owner reads that staff did it, not which member of staff.
    owner = app.test_client()
    login(owner, tenant.owner_email, tenant.owner_password)
    page = owner.get(f"/channels/{wa.id}").get_data(as_text=True)
    assert "by TemoWeb staff" in page and "staff@platform.example.com" not in page
