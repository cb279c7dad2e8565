"""Back-office pages around the pipeline: failed events with retry, connecting a Telegram bot."""

from __future__ import annotations

from tests.helpers.web import csrf_token


def test_failed_events_are_visible_and_retryable(member_client, db, tenant, queue):
    from webapp.models import InboundEvent
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "webchat")
    event = InboundEvent(tenant_id=tenant.id, channel_id=channel.id, external_id="v:1", kind="webchat",
                         user_id="v", status="failed", error="TimeoutError: send failed", parsed={})
    db.session.add(event)
    db.session.commit()
    assert 'data-testid="failed-events"' in member_client.get("/").get_data(as_text=True)
    page = member_client.get("/events?status=failed").get_data(as_text=True)
    assert "TimeoutError: send failed" in page
    token = csrf_token(member_client, "/events")
    resp = member_client.post(f"/events/{event.id}/retry", data={"csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(InboundEvent, event.id).status in ("queued", "received")


def test_connect_telegram_from_the_back_office(member_client, db, tenant, telegram_api, app, monkeypatch):
    monkeypatch.setitem(app.config, "TELEGRAM_API_URL", telegram_api.url)
    token = csrf_token(member_client, "/channels/telegram")
    bad = member_client.post("/channels/telegram", data={"csrf_token": token, "token": "nonsense"})
    assert bad.status_code == 400 and "123456789:AA" in bad.get_data(as_text=True)
    rejected = member_client.post("/channels/telegram", data={"csrf_token": token, "token": "42:AAunknownbot"})
    assert rejected.status_code == 400 and "Telegram did not accept this bot token" in rejected.get_data(as_text=True)
    ok = member_client.post("/channels/telegram", data={"csrf_token": token, "token": telegram_api.token})
    assert ok.status_code == 302
    assert telegram_api.requests_to("/setWebhook")
    page = member_client.get(ok.headers["Location"]).get_data(as_text=True)
    assert "/webhooks/telegram/" in page and telegram_api.token not in page


def test_channel_needing_reconnection_is_shown(member_client, db, tenant):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "instagram", external_id="1", token="t")
    channel.status, channel.status_reason = "needs_reconnect", "the access token was rejected"
    db.session.commit()
    assert 'data-testid="reconnect-banner"' in member_client.get("/").get_data(as_text=True)  # base.html, every page
    assert "needs reconnection" in member_client.get("/channels").get_data(as_text=True)
