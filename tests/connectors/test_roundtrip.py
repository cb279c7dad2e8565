"""Webhook body in → connector parse → reply out, per channel, without the database.

The full pipeline (store, queue, job) is tested with the webapp; these check that what parse
produces is enough for send to reach the right place.
"""

from connectors.channels.base import reply_recipient
from connectors.channels.events import Outbound
from connectors.channels.meta import parse_meta_payload, verify_request
from connectors.channels.registry import get_connector
from tests.fakes.meta_payloads import ig_comment_body, ig_dm_body, signed_headers, tg_update, wa_text_body

SECRET = "app-secret"


def _reply(event, credentials, config, kind="message", text="Thanks!"):
    connector = get_connector(event.channel_type)
    recipient = event.meta["comment_id"] if kind != "message" else reply_recipient(connector, event)
    return connector.send(credentials, Outbound(kind, recipient, text, idempotency_key="k"), config)


def test_instagram_dm_roundtrip(graph_api, connector_config):
    raw = ig_dm_body("1784", "IGSID7", "mid.1", "Ціна?")
    assert verify_request(signed_headers(raw, SECRET), raw, [SECRET])
    [event] = parse_meta_payload(raw)
    assert _reply(event, {"access_token": "tok-1"}, connector_config).status == "sent"
    assert graph_api.last.json["recipient"] == {"id": "IGSID7"}


def test_instagram_comment_roundtrip(graph_api, connector_config):
    [event] = parse_meta_payload(ig_comment_body("1784", "c-55", "price?", "IGSID7"))
    assert _reply(event, {"access_token": "tok-1"}, connector_config, kind="comment_reply").status == "sent"
    assert _reply(event, {"access_token": "tok-1"}, connector_config, kind="private_reply").status == "sent"
    assert [r.path for r in graph_api.requests] == ["/v21.0/c-55/replies", "/v21.0/me/messages"]


def test_whatsapp_roundtrip(graph_api, connector_config):
    [event] = parse_meta_payload(wa_text_body("PNID1", "wamid.9", "hola", wa_id="34600000000"))
    creds = {"access_token": "tok-1", "phone_number_id": event.account_id}
    assert _reply(event, creds, connector_config).status == "sent"
    assert graph_api.last.path == "/v21.0/PNID1/messages" and graph_api.last.json["to"] == "34600000000"


def test_telegram_group_roundtrip(telegram_api, connector_config):
    connector = get_connector("telegram")
    [event] = connector.parse(tg_update(1, "hi", chat_id=-1001, user_id=42), account_id="chan-1",
                              settings={"allow_groups": True})
    assert _reply(event, {"bot_token": telegram_api.token}, connector_config).status == "sent"
    assert telegram_api.last.json["chat_id"] == -1001


def test_every_connector_accepts_the_route_account_id():
    """The route's account id is the account for Telegram (the URL names the bot's channel); Meta bodies
    name their own account (entry.id, metadata.phone_number_id), which wins over what the route passes."""
    bodies = {"instagram": ig_dm_body("17841400000000001", "2", "m", "x"),
              "whatsapp": wa_text_body("106540352242922", "wamid.1", "x")}
    for name, account in (("instagram", "17841400000000001"), ("whatsapp", "106540352242922")):
        events = get_connector(name).parse(bodies[name], account_id="ignored")
        assert [e.account_id for e in events] == [account], name
        assert get_connector(name).parse(bodies["whatsapp" if name == "instagram" else "instagram"],
                                         account_id="ignored") == []  # another product's body: not its events
    assert [e.account_id for e in get_connector("telegram").parse(tg_update(1, "x"), account_id="c")] == ["c"]
