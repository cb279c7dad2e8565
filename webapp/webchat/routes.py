"""Web chat endpoints used by `widget.js` on any site.

The channel's public key identifies the channel (it is not a secret: it is in the page). A visitor is a
random id kept in the browser's localStorage, so the conversation survives page loads; replies are fetched
by polling. Public endpoints are rate limited per address and per visitor.
"""

from __future__ import annotations

from flask import Response, abort, current_app, jsonify, render_template, request, send_from_directory
from sqlalchemy import select

from connectors.channels.base import PayloadError
from connectors.channels.registry import get_connector
from connectors.pipeline.ingest import ingest, routed
from webapp.extensions import csrf, db, limiter
from webapp.inputs import parse_db_int
from webapp.models import Channel, Contact, Conversation, Message
from webapp.services.channels import COLOR_SETTING, GREETING_SETTING, ORIGINS_SETTING, webchat_settings

from .blueprint import bp

csrf.exempt(bp)
STATIC_DIR = "static/webchat"


def _channel(public_key: str) -> Channel:
    channel = db.session.scalar(select(Channel).where(Channel.public_key == public_key,
                                                      Channel.type == "webchat"))
    if channel is None or channel.status in ("disabled", "removed"):
        abort(404, description="unknown chat channel")
    return channel


def _allowed_origin(channel: Channel) -> str | None:
    origin = request.headers.get("Origin")
    allowed = webchat_settings(channel)[ORIGINS_SETTING] or ["*"]
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def _cors(resp: Response, channel: Channel) -> Response:
    origin = _allowed_origin(channel)
    if origin:
        resp.headers["Access-Control-Allow-Origin"] = origin
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        resp.headers["Access-Control-Max-Age"] = "600"
        resp.headers["Vary"] = "Origin"
    return resp


def _rate() -> str:
    return current_app.config["WEBCHAT_RATE_LIMIT"]


def _visitor_key() -> str:
    """Runs before the view has looked at the body: any JSON (a number, a list, an integer id) must give a
    key, and the view then answers the bad body with a 400. Ids that are not strings share one key per
    type (str() of a huge integer or json.dumps of a deep list can raise)."""
    visitor = request.args.get("visitor_id")
    if visitor is None:
        try:
            body = request.get_json(silent=True, force=True)
        except RecursionError:
            body = None
        visitor = body.get("visitor_id") if isinstance(body, dict) else None
    text = visitor[:200] if isinstance(visitor, str) else "" if visitor is None else f"<{type(visitor).__name__}>"
    return f"webchat:{(request.view_args or {}).get('public_key', '')}:{text}"


@bp.get("/widget.js")
def widget_js() -> Response:
    resp = send_from_directory(current_app.root_path + "/" + STATIC_DIR, "widget.js", mimetype="text/javascript")
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/<public_key>/config")
@limiter.limit("120 per minute")
def widget_config(public_key: str):  # type: ignore[no-untyped-def]
    """What the widget shows before anyone writes: its colour and the greeting the tenant set. A site that
    is not allowed gets no CORS header (its browser then refuses the answer) and a 403 when it says who it is."""
    channel = _channel(public_key)
    if request.headers.get("Origin") and _allowed_origin(channel) is None:
        return jsonify(error="this site is not allowed to use the chat"), 403
    settings = webchat_settings(channel)
    resp = _cors(jsonify(color=settings[COLOR_SETTING], greeting=settings[GREETING_SETTING]), channel)
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp


@bp.route("/<public_key>/messages", methods=["OPTIONS"])
def preflight(public_key: str) -> Response:
    channel = _channel(public_key)
    if _allowed_origin(channel) is None:
        return Response(status=403)
    return _cors(Response(status=204), channel)


@bp.post("/<public_key>/messages")
@limiter.limit(_rate)
@limiter.limit(_rate, key_func=_visitor_key)
def post_message(public_key: str):  # type: ignore[no-untyped-def]
    channel = _channel(public_key)
    if request.headers.get("Origin") and _allowed_origin(channel) is None:
        return jsonify(error="this site is not allowed to use the chat"), 403
    raw = request.get_data()
    try:
        events = get_connector("webchat").parse(raw, account_id=str(channel.id))  # type: ignore[call-arg]
    except PayloadError as exc:
        return _cors(jsonify(error=str(exc)), channel), 400
    result = ingest([(routed(channel), e) for e in events], raw, request.headers)
    return _cors(jsonify(ok=True, duplicate=result["stored"] == 0), channel), 202


@bp.get("/<public_key>/messages")
@limiter.limit("120 per minute")
def list_messages(public_key: str):  # type: ignore[no-untyped-def]
    channel = _channel(public_key)
    visitor = request.args.get("visitor_id", "")
    after = parse_db_int(request.args.get("after", "0"))
    if after is None:
        return _cors(jsonify(error="after must be an integer message id"), channel), 400
    contact = db.session.scalar(select(Contact).where(Contact.channel_id == channel.id,
                                                      Contact.external_user_id == visitor)) if visitor else None
    if contact is None:
        return _cors(jsonify(messages=[]), channel)
    rows = db.session.scalars(
        select(Message).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.contact_id == contact.id, Message.id > after,
               Message.delivery_status.in_(("received", "sent", "delivered", "read")))
        .order_by(Message.id).limit(100))
    return _cors(jsonify(messages=[_public(m) for m in rows]), channel)


def _public(m: Message) -> dict[str, object]:
    """What a visitor may see of a message (their own, and the bot's replies)."""
    inbound = m.direction == "in"
    return {"id": m.id, "from": "visitor" if inbound else "bot", "text": m.text,
            "buttons": (m.payload or {}).get("buttons") or [],
            "client_message_id": (m.external_id or "").split(":", 1)[-1] if inbound else None,
            "at": m.created_at.isoformat()}


@bp.get("/demo/<public_key>")
def demo(public_key: str):  # type: ignore[no-untyped-def]
    channel = _channel(public_key)
    return render_template("webchat/demo.html", channel=channel)
