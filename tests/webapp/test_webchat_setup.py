"""A tenant adds a website chat from the Channels page by themselves, chooses the sites that may show it, its
colour and greeting, and copies the complete embed snippet; the widget's config and the Origin check use
those settings."""

from __future__ import annotations

import html
import re

import pytest

from tests.helpers.web import csrf_token, login

SITE = "https://shop.example.com"


def _create(client, **fields: str):
    data = {"csrf_token": csrf_token(client, "/channels/webchat"), "name": "Shop chat",
            "origins": f"{SITE}/\nhttp://localhost:8000", "color": "#FF5500", "greeting": "Hi! How can we help?",
            **fields}
    return client.post("/channels/webchat", data=data)


def _channel(db, tenant):
    from webapp.models import Channel

    db.session.expire_all()
    return db.session.query(Channel).filter_by(tenant_id=tenant.id, type="webchat").one()


def test_a_tenant_adds_a_website_chat_and_gets_the_whole_snippet(member_client, db, tenant, app):
    from webapp.services.channels import widget_snippet

    listing = member_client.get("/channels").get_data(as_text=True)
    assert 'href="/channels/webchat"' in listing and 'href="/channels/telegram"' in listing
    assert member_client.get("/channels/webchat").status_code == 200
    resp = _create(member_client)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    channel = _channel(db, tenant)
    assert channel.name == "Shop chat"
    assert channel.settings == {"allowed_origins": [SITE, "http://localhost:8000"], "color": "#ff5500",
                                "greeting": "Hi! How can we help?"}
    page = member_client.get(resp.headers["Location"])
    text = page.get_data(as_text=True)
    snippet = widget_snippet(channel)
    box = re.search(r'<textarea id="snippet"[^>]*>(.*?)</textarea>', text, re.S)
    assert box and html.unescape(box.group(1)).strip() == snippet
    assert f'data-channel="{channel.public_key}"' in snippet and snippet.endswith("</script>")
    assert 'data-copy-target="snippet"' in text and "/static/copy.js" in text
    # the page keeps to the Content-Security-Policy: every script is a file from this origin
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", text))
    copy_js = member_client.get("/static/copy.js")
    assert copy_js.status_code == 200 and b"data-copy-target" in copy_js.data


@pytest.mark.parametrize("field, value, message", [
    ("origins", "shop.example.com", "shop.example.com is not a website address"),
    ("origins", f"{SITE}/checkout", "/checkout is not a website address"),
    ("origins", "javascript:alert(1)", "is not a website address"),
    ("color", "red", "A colour looks like #4f46e5."),
    ("greeting", "x" * 501, "at most 500 characters"),
])
def test_bad_settings_are_form_errors(member_client, db, tenant, field, value, message):
    from webapp.models import Channel

    resp = _create(member_client, **{field: value})
    assert resp.status_code == 400 and message in html.unescape(resp.get_data(as_text=True))
    assert db.session.query(Channel).count() == 0


def test_a_tenant_edits_the_settings(member_client, db, tenant):
    assert _create(member_client).status_code == 302
    channel = _channel(db, tenant)
    url = f"/channels/{channel.id}/webchat"
    token = csrf_token(member_client, f"/channels/{channel.id}")
    page = member_client.get(f"/channels/{channel.id}").get_data(as_text=True)
    assert "Hi! How can we help?" in page and "http://localhost:8000" in page
    bad = member_client.post(url, data={"csrf_token": token, "name": "Shop chat", "origins": "ftp://shop.example.com",
                                        "color": "#000000", "greeting": "Hello"})
    assert bad.status_code == 400
    assert "ftp://shop.example.com is not a website address" in html.unescape(bad.get_data(as_text=True))
    assert _channel(db, tenant).settings["greeting"] == "Hi! How can we help?"  # nothing changed
    ok = member_client.post(url, data={"csrf_token": token, "name": "Site", "origins": "https://new.example.com:443",
                                       "color": "#00AA00", "greeting": "  Welcome back  "})
    assert ok.status_code == 303
    channel = _channel(db, tenant)
    assert channel.name == "Site"
    assert channel.settings == {"allowed_origins": ["https://new.example.com"], "color": "#00aa00",
                                "greeting": "Welcome back"}
    cleared = member_client.post(url, data={"csrf_token": token, "name": "Site", "origins": "", "color": "#00aa00",
                                            "greeting": ""})
    assert cleared.status_code == 303 and _channel(db, tenant).settings["allowed_origins"] == []


def test_the_widget_config_and_origin_check_use_the_settings(member_client, client, db, tenant):
    assert _create(member_client).status_code == 302
    key = _channel(db, tenant).public_key
    allowed = client.get(f"/webchat/{key}/config", headers={"Origin": SITE})
    assert allowed.status_code == 200 and allowed.json == {"color": "#ff5500", "greeting": "Hi! How can we help?"}
    assert allowed.headers["Access-Control-Allow-Origin"] == SITE
    assert client.get(f"/webchat/{key}/config", headers={"Origin": "https://evil.example.net"}).status_code == 403
    body = {"visitor_id": "v1", "text": "hi", "client_message_id": "m1"}
    assert client.post(f"/webchat/{key}/messages", json=body,
                       headers={"Origin": "https://evil.example.net"}).status_code == 403
    assert client.post(f"/webchat/{key}/messages", json=body, headers={"Origin": SITE}).status_code == 202
    assert client.options(f"/webchat/{key}/messages", headers={"Origin": "http://localhost:8000"}).status_code == 204


def test_a_channel_without_settings_gets_the_defaults(client, db, tenant):
    from webapp.services.channels import add_channel

    key = add_channel(tenant, "webchat").public_key
    resp = client.get(f"/webchat/{key}/config", headers={"Origin": "https://anywhere.example.org"})
    assert resp.json == {"color": "#4f46e5", "greeting": ""}
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_other_tenants_and_other_channel_types(app, member_client, db, make_tenant, tenant):
    from webapp.services.channels import add_channel

    mine = add_channel(tenant, "webchat")
    instagram = add_channel(tenant, "instagram", external_id="178414", token="t")
    other = make_tenant("Other")
    stranger = app.test_client()
    login(stranger, other.owner_email, other.owner_password)
    data = {"csrf_token": csrf_token(stranger, "/channels"), "origins": "https://x.example.com",
            "color": "#000000", "greeting": "x"}
    assert stranger.post(f"/channels/{mine.id}/webchat", data=data).status_code == 404
    data["csrf_token"] = csrf_token(member_client, "/channels")
    assert member_client.post(f"/channels/{instagram.id}/webchat", data=data).status_code == 404
    assert "webchat-settings" not in member_client.get(f"/channels/{instagram.id}").get_data(as_text=True)


def test_the_cli_sets_the_widget_too(app, db, tenant):
    import json

    runner = app.test_cli_runner()
    out = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "webchat",
                              "--origin", SITE, "--color", "#123456", "--greeting", "Hello"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["settings"] == {"allowed_origins": [SITE], "color": "#123456", "greeting": "Hello"}
    bad = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "webchat", "--origin", "nope"])
    assert bad.exit_code == 1 and "nope is not a website address" in bad.output
    wrong = runner.invoke(args=["channel", "add", "--tenant", str(tenant.id), "--type", "whatsapp",
                                "--external-id", "1", "--token", "t", "--greeting", "Hi"])
    assert wrong.exit_code == 1 and "--greeting are for --type webchat" in wrong.output
