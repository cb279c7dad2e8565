"""Website chat over HTTP: post, reply fetched by polling, CORS, rate limit, bad input."""

from __future__ import annotations

from tests.helpers.webhooks import webchat_send as send


def test_visitor_gets_a_reply_and_keeps_the_conversation(client, shop, wired):
    key = shop.web.public_key
    assert send(client, key, "hello", "c1").status_code == 202
    wired.queue.drain()
    messages = client.get(f"/webchat/{key}/messages?visitor_id=visitor1").get_json()["messages"]
    assert [m["from"] for m in messages] == ["visitor", "bot", "bot"]
    assert messages[0]["client_message_id"] == "c1"
    assert "What's your name?" in messages[-1]["text"]
    last = messages[-1]["id"]
    send(client, key, "Anna", "c2")
    wired.queue.drain()
    newer = client.get(f"/webchat/{key}/messages?visitor_id=visitor1&after={last}").get_json()["messages"]
    assert [m["text"] for m in newer][-1].startswith("What's the best phone number")
    other = client.get(f"/webchat/{key}/messages?visitor_id=someone-else").get_json()["messages"]
    assert other == []


def test_cors_and_unknown_channel(client, shop, wired, db):
    key = shop.web.public_key
    pre = client.options(f"/webchat/{key}/messages", headers={"Origin": "https://shop.example"})
    assert pre.status_code == 204 and pre.headers["Access-Control-Allow-Origin"] == "*"
    shop.web.settings = {"allowed_origins": ["https://shop.example"]}
    db.session.commit()
    assert send(client, key, "hi", "c3", origin="https://evil.example").status_code == 403
    ok = send(client, key, "hi", "c4", origin="https://shop.example")
    assert ok.status_code == 202 and ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert send(client, "no-such-key", "hi", "c5").status_code == 404


def test_bad_input_is_a_400(client, shop, wired):
    key = shop.web.public_key
    assert client.post(f"/webchat/{key}/messages", data=b"nope", headers={"Content-Type": "application/json"}) \
        .status_code == 400
    resp = send(client, key, "   ", "c6")
    assert resp.status_code == 400 and "text" in resp.get_json()["error"]
    assert client.get(f"/webchat/{key}/messages?visitor_id=v&after=x").status_code == 400


def test_public_endpoint_is_rate_limited(client, shop, wired, app):
    limit = int(app.config["WEBCHAT_RATE_LIMIT"].split()[0])
    codes = [send(client, shop.web.public_key, f"m{i}", f"id{i}").status_code for i in range(limit + 1)]
    assert codes[-1] == 429 and 429 not in codes[:-1]


def test_widget_script_and_demo_page(client, shop):
    js = client.get("/webchat/widget.js")
    assert js.status_code == 200 and "attachShadow" in js.get_data(as_text=True)
    page = client.get(f"/webchat/demo/{shop.web.public_key}").get_data(as_text=True)
    assert f'data-channel="{shop.web.public_key}"' in page
