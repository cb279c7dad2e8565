"""Signed webhooks and web-chat posts as the channels send them, and a Telegram bot connected the real way."""

from __future__ import annotations

import json

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import IG_ACCOUNT, publish_templates

IG_SECRET = "test-ig-app-secret"
META_SECRET = "test-app-secret"


def post(client, raw: bytes, secret: str | None, **headers: str):
    hdrs = {"Content-Type": "application/json", **headers}
    if secret:
        hdrs.update(mp.signed_headers(raw, secret))
    return client.post("/webhooks/meta", data=raw, headers=hdrs)


def dm(client, mid: str, text: str = "hi", sender: str = "IGSID-1"):
    return post(client, mp.ig_dm_body(IG_ACCOUNT, sender, mid, text), IG_SECRET)


def add_bot(app, telegram_api, tenant_id: int, token: str):
    result = app.test_cli_runner().invoke(args=["channel", "add", "--tenant", str(tenant_id), "--type", "telegram",
                                                "--token", token])
    return result


def telegram_channel(wired, make_tenant):
    from webapp.models import Channel

    tenant = make_tenant("Bot shop")
    publish_templates(tenant, "lead_capture")
    out = json.loads(add_bot(wired.app, wired.telegram, tenant.id, wired.telegram.token).output)
    channel = wired.db.session.get(Channel, out["id"])
    secret = wired.telegram.requests_to("/setWebhook")[0].params["secret_token"]
    return channel, secret


def webchat_send(client, key: str, text: str, client_id: str, visitor: str = "visitor1", origin: str | None = None):
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    body = json.dumps({"visitor_id": visitor, "text": text, "client_message_id": client_id})
    return client.post(f"/webchat/{key}/messages", data=body, headers=headers)
