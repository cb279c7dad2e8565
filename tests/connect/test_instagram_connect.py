"""Connect Instagram, end to end over real HTTP: our page → the fake consent page → our callback → Authlib's
code exchange at the fake token endpoint → long-lived token, /me and subscribed_apps at the Graph fake →
the channel stored. And every way it can fail ends on a page that says what happened, nothing stored."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from tests.connect.conftest import follow_consent
from webapp.models import Channel, ChannelChange
from webapp.models.base import utcnow


def _channels(db) -> list[Channel]:
    db.session.expire_all()
    return db.session.query(Channel).order_by(Channel.id).all()


def test_connect_instagram_happy_path(app, db, member_client, meta_login, graph_api, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    callback, authorize = follow_consent(member_client, "/connect/instagram")
    assert authorize["client_id"] == "test-ig-app-id" and authorize["response_type"] == "code"
    assert authorize["scope"] == ("instagram_business_basic,instagram_business_manage_messages,"
                                  "instagram_business_manage_comments")
    assert authorize["redirect_uri"] == "https://bots.example.test/connect/instagram/callback"
    assert callback.endswith("#_")  # Meta's documented suffix, which never reaches the server
    resp = member_client.get(callback.split("#")[0])
    assert resp.status_code == 302, resp.get_data(as_text=True)

    [channel] = _channels(db)
    assert channel.tenant_id == tenant.id and channel.type == "instagram"
    assert channel.external_id == graph_api.ig_user_id and channel.name == "@fake_shop"
    long_lived = channel.credentials["token"]
    assert long_lived.startswith("FAKE-TOKEN-") and channel.credentials["login"] == "instagram"
    assert timedelta(days=59) < channel.token_expires_at - utcnow() <= timedelta(days=60)
    assert graph_api.subscriptions["me"][:2] == ["messages", "messaging_postbacks"]
    assert "comments" in graph_api.subscriptions["me"]
    [exchange] = graph_api.requests_to("/access_token", "GET")
    assert exchange.params["grant_type"] == "ig_exchange_token" and exchange.params["access_token"].startswith(
        "IG-SHORT-")
    [change] = db.session.query(ChannelChange).all()
    assert (change.action, change.actor, change.channel_id) == ("connected", tenant.owner_email, channel.id)

    page = member_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "@fake_shop is connected." in page
    assert long_lived not in page and long_lived not in caplog.text
    assert "IG-SHORT-" not in caplog.text
    stored_raw = db.session.execute(db.text("SELECT credentials FROM channels")).scalar()
    assert long_lived not in str(stored_raw)  # encrypted at rest


def test_flat_token_answer_is_read_too(db, member_client, meta_login, connect_round_trip):
    meta_login.flat_token = True
    assert connect_round_trip("/connect/instagram").status_code == 302
    assert len(_channels(db)) == 1


def test_denied_consent_says_so_and_stores_nothing(db, member_client, meta_login, connect_round_trip):
    resp = connect_round_trip("/connect/instagram", decision="deny")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "You did not allow TemoWeb to use the account" in body
    assert "Press Connect again and choose Allow" in body
    assert _channels(db) == []


def test_bad_state_is_refused(db, member_client, meta_login):
    callback, _ = follow_consent(member_client, "/connect/instagram")
    forged = callback.split("#")[0].replace("state=", "state=forged")
    resp = member_client.get(forged)
    assert resp.status_code == 400
    assert "This connect link has expired or was already used." in resp.get_data(as_text=True)
    assert _channels(db) == []


def test_callback_replayed_is_refused(db, member_client, meta_login):
    callback, _ = follow_consent(member_client, "/connect/instagram")
    assert member_client.get(callback.split("#")[0]).status_code == 302
    again = member_client.get(callback.split("#")[0])
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert len(_channels(db)) == 1


def test_expired_code_is_explained(db, member_client, meta_login):
    callback, _ = follow_consent(member_client, "/connect/instagram")
    meta_login.expire_codes()
    resp = member_client.get(callback.split("#")[0])
    assert resp.status_code == 400
    assert "The sign-in took too long or its link was opened twice" in resp.get_data(as_text=True)
    assert _channels(db) == []


@pytest.mark.parametrize("status", [500, 400])
def test_token_exchange_error(db, member_client, meta_login, status):
    callback, _ = follow_consent(member_client, "/connect/instagram")
    meta_login.fail(status=status, times=None, path="/oauth/access_token", message="Invalid platform app")
    resp = member_client.get(callback.split("#")[0])
    body = resp.get_data(as_text=True)
    if status == 500:
        assert resp.status_code == 503 and "Could not reach Meta right now; nothing was saved." in body
    else:
        assert resp.status_code == 502 and "Meta refused to finish the sign-in: Invalid platform app" in body
    assert "Traceback" not in body and _channels(db) == []


def test_long_lived_exchange_error_is_a_step_error(db, member_client, meta_login, graph_api, connect_round_trip):
    graph_api.fail(status=400, times=None, path="/access_token", code=100, message="Invalid client_secret")
    resp = connect_round_trip("/connect/instagram")
    assert resp.status_code == 502
    assert "Meta refused to exchange the sign-in for a lasting token (error 100)." in resp.get_data(as_text=True)
    assert _channels(db) == []


def test_unticked_permission_is_named(db, member_client, meta_login, connect_round_trip):
    meta_login.granted = ["instagram_business_basic"]
    resp = connect_round_trip("/connect/instagram")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403 and "instagram_business_manage_messages" in body
    assert "leave every permission ticked" in body and _channels(db) == []


def test_subscription_refused_for_missing_permission(db, member_client, meta_login, graph_api, connect_round_trip):
    graph_api.fail(status=403, times=None, path="/subscribed_apps", code=200,
                   message="Requires pages_manage_metadata permission")
    resp = connect_round_trip("/connect/instagram")
    assert resp.status_code == 403
    assert "Meta refused to subscribe the account to messages: a permission is missing." in resp.get_data(
        as_text=True)
    assert _channels(db) == []


def test_reconnect_replaces_the_token_and_keeps_the_channel(db, member_client, meta_login, graph_api, tenant,
                                                            connect_round_trip):
    connect_round_trip("/connect/instagram")
    [channel] = _channels(db)
    old_token = channel.credentials["token"]
    channel.status, channel.status_reason = "needs_reconnect", "token expired"
    channel.settings = {"test_recipient": "42"}
    db.session.commit()

    resp = connect_round_trip(f"/connect/instagram?channel={channel.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/channels/{channel.id}")
    [again] = _channels(db)
    assert again.id == channel.id and again.status == "active" and again.status_reason is None
    assert again.credentials["token"] != old_token and again.settings == {"test_recipient": "42"}
    actions = [c.action for c in db.session.query(ChannelChange).order_by(ChannelChange.id)]
    assert actions == ["connected", "reconnected"]


def test_reconnect_as_another_account_is_refused(db, member_client, meta_login, graph_api, connect_round_trip):
    connect_round_trip("/connect/instagram")
    [channel] = _channels(db)
    graph_api.ig_user_id, graph_api.username = "17841400000000999", "other_shop"
    resp = connect_round_trip(f"/connect/instagram?channel={channel.id}")
    assert resp.status_code == 409 and "belongs to another account" in resp.get_data(as_text=True)
    assert [c.external_id for c in _channels(db)] == ["17841400000000001"]


def test_account_of_another_tenant_is_refused(db, make_tenant, member_client, meta_login, graph_api,
                                              connect_round_trip):
    from webapp.services.channels import add_channel

    other = make_tenant("Other Shop")
    add_channel(other, "instagram", external_id=graph_api.ig_user_id, token="theirs")
    resp = connect_round_trip("/connect/instagram")
    assert resp.status_code == 409 and "already connected to another TemoWeb account" in resp.get_data(
        as_text=True)
    assert [c.tenant_id for c in _channels(db)] == [other.id]


def test_full_plan_is_said_before_leaving_for_meta(db, member_client, meta_login, tenant):
    from webapp.services.channels import add_channel

    tenant.plan.limits = {**(tenant.plan.limits or {}), "channels": 1}
    db.session.commit()
    add_channel(tenant, "webchat")
    resp = member_client.get("/connect/instagram")
    assert resp.status_code == 403 and "Your plan allows 1 channel(s)" in resp.get_data(as_text=True)
    assert meta_login.requests == []


def test_not_configured_installation(app, member_client, meta_login, monkeypatch):
    monkeypatch.setitem(app.config, "INSTAGRAM_APP_ID", "")
    resp = member_client.get("/connect/instagram")
    assert resp.status_code == 503 and "not set up on this TemoWeb installation" in resp.get_data(as_text=True)


def test_someone_elses_channel_cannot_be_reconnected(db, make_tenant, member_client, meta_login):
    from webapp.services.channels import add_channel

    other = make_tenant("Other Shop")
    theirs = add_channel(other, "instagram", external_id="1784", token="theirs")
    assert member_client.get(f"/connect/instagram?channel={theirs.id}").status_code == 404


def test_the_checklist_follows_the_connect_and_the_removal(app, db, member_client, meta_login, tenant,
                                                          connect_round_trip):
    from webapp.services.onboarding import checklist

    def ticks() -> dict[str, bool]:
        db.session.expire_all()
        with app.test_request_context():
            return {step.key: step.done for step in checklist(tenant)}

    assert not ticks()["channels"] and not ticks()["webhooks"]
    connect_round_trip("/connect/instagram")
    assert ticks()["channels"] and ticks()["webhooks"]  # subscribed by the connect page itself
    [channel] = _channels(db)
    from webapp.services.channels import remove_channel

    remove_channel(channel, "test")
    assert not ticks()["channels"]


def test_channels_page_offers_what_this_installation_can_connect(app, member_client, monkeypatch):
    page = member_client.get("/channels").get_data(as_text=True)
    for label in ("Connect Instagram", "Connect a Facebook Page", "Connect WhatsApp", "Connect a Telegram bot",
                  "Add a website chat"):
        assert label in page, label
    monkeypatch.setitem(app.config, "INSTAGRAM_APP_ID", "")
    monkeypatch.setitem(app.config, "META_APP_SECRET", "")
    page = member_client.get("/channels").get_data(as_text=True)
    assert "Connect Instagram" not in page and "Connect a Facebook Page" not in page  # they could only fail
    assert "Connect WhatsApp" in page  # its manual form needs no Meta app settings
