""""Send test" to a real channel: the draft's replies to the tenant's own test account.

A channel is usable for this once the tenant has set its test recipient (their own Instagram/WhatsApp
user id, Telegram chat id) on the channel page. Nothing is stored in conversations or the CRM: the run is
the simulator's, only the sending is real.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from connectors.channels.events import Outbound
from connectors.channels.registry import UnknownConnectorError, get_connector
from connectors.pipeline.delivery import connector_config, send_credentials
from flows.text_limits import fit_text

from ..extensions import db, limiter
from ..inputs import in_db_range
from ..models import Channel, Flow
from ..tenancy import current_tenant, get_scoped_or_404, scoped
from .blueprint import bp
from .payload import ApiError, json_body, messages_of
from .simulate_routes import _run_limit, _user_key, compiled_at, run


def _sends(channel: Channel) -> bool:
    """Does the channel push replies to a recipient (the web chat's widget fetches them instead)?"""
    try:
        return get_connector(channel.type).pushes_replies
    except UnknownConnectorError:  # a channel of a type no longer registered
        return False


def test_channels() -> list[Channel]:
    rows = db.session.scalars(scoped(Channel).where(Channel.status == "active").order_by(Channel.id))
    return [c for c in rows if (c.settings or {}).get("test_recipient") and _sends(c)]


@bp.get("/test-channels")
def list_test_channels() -> Any:
    return jsonify(channels=[{"id": c.id, "type": c.type, "name": c.name,
                              "recipient": c.settings["test_recipient"]} for c in test_channels()])


@bp.post("/flows/<int:flow_id>/send-test")
@limiter.shared_limit(_run_limit, scope="simulator", key_func=_user_key)
def send_test(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    data = json_body()
    channel_id = data.get("channel_id")
    if not isinstance(channel_id, int) or isinstance(channel_id, bool) or not in_db_range(channel_id):
        raise ApiError("`channel_id` must be the id of one of your channels.")
    channel = get_scoped_or_404(Channel, channel_id)
    recipient = (channel.settings or {}).get("test_recipient")
    if not recipient or not _sends(channel):
        raise ApiError("Set this channel's test recipient (your own account) on the channel page first.")
    messages = messages_of(data)
    if not messages:
        raise ApiError("Give at least one message.")
    compiled, _ = compiled_at(flow, "draft")
    result = run(current_tenant(), compiled, channel=channel.type, kind="dm", messages=messages)
    replies = [r for r in (result["turns"][-1]["replies"] if result["turns"] else []) if r["kind"] == "reply"]
    connector, config, creds = get_connector(channel.type), connector_config(), send_credentials(channel)
    sent = []
    for reply in replies:
        outbound = Outbound(kind="message", recipient=str(recipient),
                            text=fit_text(reply["text"], connector.max_text_length),
                            buttons=list(reply.get("buttons") or []))
        outcome = connector.send(creds, outbound, config)
        sent.append({"text": reply["text"], "status": outcome.status, "error": outcome.error})
    return jsonify(channel={"id": channel.id, "type": channel.type, "name": channel.name}, replies=sent,
                   sent=sum(1 for s in sent if s["status"] == "sent"))
