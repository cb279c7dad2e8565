"""Instagram Login token lifecycle (connectors/pipeline/tokens.py): due tokens refreshed through the fake
Graph API over real HTTP, rejected or expired ones flag the channel once, the back-office says so.
The clock is moved by passing `now`, never by sleeping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from connectors.pipeline import tokens
from connectors.pipeline.tokens import refresh_due_tokens, refresh_if_due
from tests.helpers.web import login
from webapp.models import Channel, Notification
from webapp.models.base import utcnow

NEW_TOKEN_LIFETIME = timedelta(seconds=5183944)


def _instagram(make_tenant: Any, name: str, account: str, token: str, left: timedelta, now: Any) -> Any:
    """A tenant with one Instagram channel whose token expires `left` after `now`."""
    from webapp.extensions import db
    from webapp.services.channels import add_channel

    tenant = make_tenant(name)
    channel = add_channel(tenant, "instagram", external_id=account, token=token, name=f"{name} IG")
    channel.token_expires_at = now + left
    db.session.commit()
    return tenant, channel.id


def _channel(db: Any, channel_id: int) -> Channel:
    db.session.expire_all()
    return db.session.get(Channel, channel_id)


def _notes(db: Any, tenant_id: int) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.tenant_id == tenant_id)))


def test_only_a_token_close_to_expiry_and_old_enough_is_refreshed(wired, make_tenant, db):
    now = utcnow()
    _, due = _instagram(make_tenant, "Due", "1001", "TOKEN-DUE", timedelta(days=5), now)
    _, young = _instagram(make_tenant, "Young", "1002", "TOKEN-YOUNG", timedelta(days=60) - timedelta(hours=2), now)
    _, far = _instagram(make_tenant, "Far", "1003", "TOKEN-FAR", timedelta(days=20), now)

    counts = refresh_due_tokens(now)

    assert counts == {"tokens_refreshed": 1, "tokens_invalid": 0, "tokens_retry": 0}
    assert wired.graph.refreshed == ["TOKEN-DUE"]
    call = wired.graph.requests_to("/refresh_access_token")[0]
    assert call.method == "GET" and call.params["grant_type"] == "ig_refresh_token"
    refreshed = _channel(db, due)
    new_token = refreshed.credentials["token"]
    assert new_token.startswith("FAKE-REFRESHED-")
    assert abs(refreshed.token_expires_at - (now + NEW_TOKEN_LIFETIME)) < timedelta(seconds=1)
    assert refreshed.status == "active"
    raw = db.session.execute(text("SELECT credentials FROM channels WHERE id = :id"), {"id": due}).scalar_one()
    assert new_token not in raw and "TOKEN-DUE" not in raw  # stored encrypted
    for channel_id, token, left in ((young, "TOKEN-YOUNG", timedelta(days=60) - timedelta(hours=2)),
                                    (far, "TOKEN-FAR", timedelta(days=20))):
        untouched = _channel(db, channel_id)
        assert untouched.credentials["token"] == token
        assert abs(untouched.token_expires_at - (now + left)) < timedelta(seconds=1)
    # Refreshed: nothing is due any more, so the next run calls nobody.
    assert refresh_due_tokens(now + timedelta(hours=1))["tokens_refreshed"] == 0
    assert wired.graph.refreshed == ["TOKEN-DUE"]


def test_a_rejected_token_flags_the_channel_once_and_the_banner_shows(wired, make_tenant, db, client):
    now = utcnow()
    broken_tenant, broken = _instagram(make_tenant, "Broken", "2001", "TOKEN-190", timedelta(days=3), now)
    other_tenant, other = _instagram(make_tenant, "Other", "2002", "TOKEN-OK", timedelta(days=4), now)
    wired.graph.expire_token("TOKEN-190")

    counts = refresh_due_tokens(now)

    assert counts == {"tokens_refreshed": 1, "tokens_invalid": 1, "tokens_retry": 0}
    flagged = _channel(db, broken)
    assert flagged.status == "needs_reconnect" and "190" in flagged.status_reason
    assert flagged.credentials["token"] == "TOKEN-190"
    assert [(n.kind, n.payload["channel_id"]) for n in _notes(db, broken_tenant.id)] == [("token_invalid", broken)]
    # The other tenant's channel went on: refreshed, not flagged, not told anything.
    assert _channel(db, other).status == "active"
    assert _channel(db, other).credentials["token"].startswith("FAKE-REFRESHED-")
    assert _notes(db, other_tenant.id) == []
    # Told once: later runs leave the flagged channel alone.
    refresh_due_tokens(now + timedelta(hours=1))
    assert len(_notes(db, broken_tenant.id)) == 1
    assert wired.graph.refreshed == ["TOKEN-OK"]

    assert login(client, broken_tenant.owner_email, broken_tenant.owner_password).status_code == 302
    for path in ("/", "/leads", "/channels"):
        page = client.get(path).get_data(as_text=True)
        assert page.count('data-testid="reconnect-banner"') == 1, path
        assert "Broken IG" in page and f'href="/connect/instagram?channel={broken}"' in page  # one-click reconnect
    client.post("/logout", data={"csrf_token": _csrf(client)})
    assert login(client, other_tenant.owner_email, other_tenant.owner_password).status_code == 302
    assert 'data-testid="reconnect-banner"' not in client.get("/leads").get_data(as_text=True)


def _csrf(client: Any) -> str:
    from tests.helpers.web import csrf_token

    return csrf_token(client, "/leads")


def test_an_expired_token_is_flagged_without_asking_instagram(wired, make_tenant, db):
    now = utcnow()
    tenant, channel_id = _instagram(make_tenant, "Late", "3001", "TOKEN-OLD", -timedelta(hours=1), now)

    assert refresh_due_tokens(now)["tokens_invalid"] == 1

    assert wired.graph.requests_to("/refresh_access_token") == []
    assert _channel(db, channel_id).status == "needs_reconnect"
    assert len(_notes(db, tenant.id)) == 1


def test_a_server_error_is_left_for_the_next_run(wired, make_tenant, db):
    now = utcnow()
    tenant, channel_id = _instagram(make_tenant, "Flaky", "4001", "TOKEN-5XX", timedelta(days=2), now)
    wired.graph.fail(status=500, times=None, path="/refresh_access_token")

    assert refresh_due_tokens(now) == {"tokens_refreshed": 0, "tokens_invalid": 0, "tokens_retry": 1}

    unchanged = _channel(db, channel_id)
    assert unchanged.status == "active" and unchanged.credentials["token"] == "TOKEN-5XX"
    assert abs(unchanged.token_expires_at - (now + timedelta(days=2))) < timedelta(seconds=1)
    assert _notes(db, tenant.id) == []
    wired.graph.reset()  # Instagram is back
    later = now + timedelta(hours=1)
    assert refresh_due_tokens(later)["tokens_refreshed"] == 1
    assert abs(_channel(db, channel_id).token_expires_at - (later + NEW_TOKEN_LIFETIME)) < timedelta(seconds=1)


def test_the_sweeper_hook_runs_at_most_hourly(wired, make_tenant, db, monkeypatch):
    now = utcnow()
    monkeypatch.setattr(tokens, "_last_run", None)  # other tests' sweeps ran in this process
    _, channel_id = _instagram(make_tenant, "Hourly", "5001", "TOKEN-H", timedelta(days=1), now)

    assert refresh_if_due(now) == {"tokens_refreshed": 1, "tokens_invalid": 0, "tokens_retry": 0}
    assert refresh_if_due(now + timedelta(minutes=30)) is None
    assert refresh_if_due(now + timedelta(hours=1)) == {"tokens_refreshed": 0, "tokens_invalid": 0,
                                                         "tokens_retry": 0}


def test_cli_channel_add_records_when_the_token_expires(wired, make_tenant, db, app):
    tenant = make_tenant("Cli")
    before = utcnow()
    result = app.test_cli_runner().invoke(args=[
        "channel", "add", "--tenant", str(tenant.id), "--type", "instagram", "--external-id", "6001",
        "--token", "TOKEN-CLI", "--expires-in", "5183944"])
    assert result.exit_code == 0, result.output
    channel = db.session.scalar(select(Channel).where(Channel.external_id == "6001"))
    assert before + NEW_TOKEN_LIFETIME <= channel.token_expires_at <= utcnow() + NEW_TOKEN_LIFETIME
    refused = app.test_cli_runner().invoke(args=[
        "channel", "add", "--tenant", str(tenant.id), "--type", "webchat", "--expires-in", "60"])
    assert refused.exit_code != 0
