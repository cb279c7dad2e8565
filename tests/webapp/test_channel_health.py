"""The channel page's live health: "Check again" asks the channel's API (the loopback fakes, real HTTP) about
the token and reads the webhook subscription back, adds the last event, reply and error from our rows, and
stores the result so a plain page view calls nothing. A rejected token flags the channel for reconnection
(the tenant told once); an API that does not answer flags nothing and never makes a 500."""

from __future__ import annotations

import socket

import pytest

from tests.helpers.web import csrf_token, login

IG_ACCOUNT = "17841400000000001"
IG_TOKEN = "IGQVJ-page-health-token-0123456789"


@pytest.fixture()
def apis(app, monkeypatch, graph_api, telegram_api):
    """Every channel API of the app pointed at the fakes, with fast retries."""
    for key, value in {"META_GRAPH_URL": graph_api.url, "INSTAGRAM_GRAPH_URL": graph_api.url,
                       "TELEGRAM_API_URL": telegram_api.url, "CONNECTOR_BACKOFF_BASE": 0.01,
                       "CONNECTOR_BACKOFF_MAX": 0.02, "CONNECTOR_TIMEOUT": 2.0}.items():
        monkeypatch.setitem(app.config, key, value)
    return graph_api, telegram_api


@pytest.fixture()
def instagram(tenant, db):
    from webapp.services.channels import add_channel

    return add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token=IG_TOKEN, name="Shop IG")


def _check(client, channel_id: int):
    token = csrf_token(client, f"/channels/{channel_id}")
    return client.post(f"/channels/{channel_id}/check", data={"csrf_token": token})


def _checked_page(client, channel_id: int) -> str:
    resp = _check(client, channel_id)
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/channels/{channel_id}")
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _stored(db, channel_id: int) -> dict:
    from webapp.models import Channel

    db.session.expire_all()
    return db.session.get(Channel, channel_id).webhook_state["health"]


def _notifications(db, kind: str) -> int:
    from webapp.models import Notification

    db.session.expire_all()
    return db.session.query(Notification).filter_by(kind=kind).count()


def test_check_again_reads_the_subscription_back_and_the_page_keeps_it(member_client, db, apis, instagram):
    graph_api, _ = apis
    before = member_client.get(f"/channels/{instagram.id}").get_data(as_text=True)
    assert 'data-testid="health-never-checked"' in before and 'data-testid="check-again"' in before
    assert not graph_api.requests  # a page view asks no API
    graph_api.subscriptions["me"] = ["messages", "comments"]  # where connecting subscribes an account

    page = _checked_page(member_client, instagram.id)
    assert "Checked: the token is valid and the webhook subscription is in place." in page
    assert "messages, comments" in page and "@fake_shop" in page and "✓" in page
    assert 'data-testid="health-checked-at"' in page and IG_TOKEN not in page
    assert graph_api.requests_to("/me/subscribed_apps", "GET")
    stored = _stored(db, instagram.id)
    assert stored["subscribed"] is True and stored["subscribed_fields"] == ["messages", "comments"]
    assert stored["checked_at"] and stored["flagged"] is False

    asked = len(graph_api.requests)
    again = member_client.get(f"/channels/{instagram.id}").get_data(as_text=True)
    assert "messages, comments" in again and len(graph_api.requests) == asked  # shown from the stored check


def test_a_missing_subscription_is_shown(member_client, db, apis, instagram):
    page = _checked_page(member_client, instagram.id)
    assert "not subscribed" in page and "the webhook subscription is missing" in page
    assert _stored(db, instagram.id)["subscribed"] is False


def test_an_expired_token_flags_the_channel_once(member_client, db, apis, instagram):
    from webapp.models import Channel

    graph_api, _ = apis
    graph_api.expire_token(IG_TOKEN)
    page = _checked_page(member_client, instagram.id)
    assert "rejected the token: the channel needs to be reconnected" in page
    assert 'data-testid="reconnect-banner"' in page and "✗" in page
    db.session.expire_all()
    channel = db.session.get(Channel, instagram.id)
    assert channel.status == "needs_reconnect" and "Instagram rejected the token" in channel.status_reason
    assert _stored(db, instagram.id)["flagged"] is True
    assert "Instagram rejected the token" in _stored(db, instagram.id)["last_error"]["text"]
    assert _notifications(db, "token_invalid") == 1

    _checked_page(member_client, instagram.id)  # checking again tells nobody twice
    assert _stored(db, instagram.id)["flagged"] is False and _notifications(db, "token_invalid") == 1


def test_an_unreachable_api_is_said_and_nothing_flagged(member_client, db, app, monkeypatch, apis, instagram):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setitem(app.config, "INSTAGRAM_GRAPH_URL", closed)
    page = _checked_page(member_client, instagram.id)
    assert "Could not check Shop IG right now" in page and 'data-testid="health-unreachable"' in page
    for raw in ("ConnectionError", "Max retries", IG_TOKEN):
        assert raw not in page
    stored = _stored(db, instagram.id)
    assert stored["error"] and stored["token_ok"] is None and stored["flagged"] is False
    assert db.session.get(type(instagram), instagram.id).status == "active"
    assert _notifications(db, "token_invalid") == 0


def test_telegram_webhook_ours_or_elsewhere(member_client, db, apis, tenant):
    from connectors.channels import telegram
    from connectors.channels.events import ConnectorConfig
    from webapp.services.channels import add_channel

    _, telegram_api = apis
    channel = add_channel(tenant, "telegram", token=telegram_api.token)
    page = _checked_page(member_client, channel.id)
    assert "set to this channel" in page and "@fake_shop_bot" in page
    assert _stored(db, channel.id)["webhook_matches"] is True

    elsewhere = "https://other.example/hook"
    telegram.set_webhook(telegram_api.token, elsewhere, "s3cret", ConnectorConfig(telegram_api_url=telegram_api.url))
    telegram_api.webhooks[telegram_api.token]["last_error_message"] = "Connection timed out"
    page = _checked_page(member_client, channel.id)
    assert "points to another address" in page and elsewhere in page and "Connection timed out" in page
    assert "the webhook subscription is missing or points elsewhere" in page
    assert _stored(db, channel.id)["webhook_matches"] is False


def test_the_web_chat_shows_its_last_event_reply_and_error(member_client, db, tenant):
    from webapp.models import Contact, Conversation, InboundEvent, Message
    from webapp.services.channels import add_channel

    web = add_channel(tenant, "webchat")
    contact = Contact(tenant_id=tenant.id, channel_id=web.id, external_user_id="visitor-1")
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=web.id)
    db.session.add(conv)
    db.session.flush()
    db.session.add_all([
        InboundEvent(tenant_id=tenant.id, channel_id=web.id, external_id="visitor-1:m1", kind="webchat",
                     user_id="visitor-1", status="failed", error="TimeoutError: the model did not answer"),
        InboundEvent(tenant_id=tenant.id, channel_id=web.id, external_id="visitor-1:m2", kind="webchat",
                     user_id="visitor-1", status="done"),
        Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=web.id, direction="out", text="Hi!",
                delivery_status="sent"),
    ])
    db.session.commit()
    page = _checked_page(member_client, web.id)
    assert "Checked." in page
    assert 'data-testid="health-token"' not in page and 'data-testid="health-webhook"' not in page
    stored = _stored(db, web.id)
    assert stored["remote"] is False and stored["last_event"]["status"] == "done"
    assert stored["last_reply"]["status"] == "sent"
    assert stored["last_error"]["text"] == "TimeoutError: the model did not answer"
    assert "TimeoutError: the model did not answer" in page and "webchat · done" in page


def test_another_tenants_channel_is_not_found(client, db, apis, make_tenant, instagram):
    other = make_tenant("Other Shop")
    assert login(client, other.owner_email, other.owner_password).status_code == 302
    token = csrf_token(client, "/channels")
    resp = client.post(f"/channels/{instagram.id}/check", data={"csrf_token": token})
    assert resp.status_code == 404 and not apis[0].requests


def test_the_check_needs_the_csrf_token(member_client, db, apis, instagram):
    resp = member_client.post(f"/channels/{instagram.id}/check")
    assert resp.status_code == 400 and not apis[0].requests
