"""Meta webhooks (one endpoint for every Meta product: the body's ``object`` picks the registered connector
that parses it, see ``connectors.channels.meta.parse_meta_payload``) and Telegram's per-bot webhooks.

Order matters: the signature is checked over the raw bytes before anything is parsed or stored; a bad
signature stores nothing and enqueues nothing. Unknown accounts are acknowledged (Meta would retry and
eventually unsubscribe the app otherwise) and logged.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from flask import Response, current_app, jsonify, request

from connectors.channels.base import PayloadError
from connectors.channels.meta import parse_meta_payload, verify_handshake, verify_request
from connectors.channels.registry import get_connector
from connectors.pipeline.ingest import TooManyEvents, check_event_count, ingest, route_meta_accounts, routed
from webapp.extensions import csrf, db
from webapp.models import Channel

from .blueprint import bp

log = logging.getLogger(__name__)
csrf.exempt(bp)


@bp.errorhandler(TooManyEvents)
def too_many_events(exc: TooManyEvents):  # type: ignore[no-untyped-def]
    return jsonify(error=str(exc)), 413


@bp.get("/meta")
def meta_handshake() -> Response:
    challenge = verify_handshake(request.args, current_app.config.get("META_VERIFY_TOKEN") or "")
    if challenge is None:
        return Response("verification failed", status=403, mimetype="text/plain")
    return Response(challenge, status=200, mimetype="text/plain")


@bp.post("/meta")
def meta_events():  # type: ignore[no-untyped-def]
    raw = request.get_data()
    secrets = [current_app.config.get("META_APP_SECRET"), current_app.config.get("INSTAGRAM_APP_SECRET")]
    if not verify_request(request.headers, raw, secrets):
        return jsonify(error="invalid or missing X-Hub-Signature-256"), 401
    try:
        events = parse_meta_payload(raw)
    except PayloadError as exc:
        return jsonify(error=str(exc)), 400
    check_event_count(events)
    by_type: dict[str, set[str]] = defaultdict(set)
    for event in events:
        by_type[event.channel_type].add(event.account_id)
    routes = {t: route_meta_accounts(t, ids) for t, ids in by_type.items()}
    pairs, unknown = [], set()
    for event in events:
        channel = routes[event.channel_type].get(event.account_id)
        if channel is None:
            unknown.add(f"{event.channel_type}:{event.account_id}")
        else:
            pairs.append((channel, event))
    if unknown:
        log.warning("webhook for unknown account(s) %s acknowledged and dropped", sorted(unknown))
    result = ingest(pairs, raw, request.headers)
    return jsonify(ok=True, unknown_accounts=len(unknown), **result), 200


@bp.post("/telegram/<int:channel_id>")
def telegram_update(channel_id: int):  # type: ignore[no-untyped-def]
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.type != "telegram":
        return jsonify(error="unknown channel"), 404
    raw = request.get_data()
    connector = get_connector("telegram")
    secret = (channel.credentials or {}).get("webhook_secret", "")
    if not connector.verify(request.headers, raw, secret):
        return jsonify(error="invalid or missing X-Telegram-Bot-Api-Secret-Token"), 401
    try:
        events = connector.parse(raw, account_id=str(channel.id), settings=channel.settings or {})
    except PayloadError as exc:
        return jsonify(error=str(exc)), 400
    result = ingest([(routed(channel), e) for e in events], raw, request.headers)
    return jsonify(ok=True, **result), 200
