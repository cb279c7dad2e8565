"""`/healthz`: is the database reachable, is the queue reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from connectors.runtime.queue import get_queue

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # reported, not raised: this endpoint exists to say what is down
        database = f"error: {exc.__class__.__name__}"
    queue = get_queue()
    queue_state = "ok" if queue.ping() else "unreachable"
    healthy = database == "ok" and queue_state == "ok"
    body = {"status": "ok" if healthy else "degraded", "database": database,
            "queue": {"backend": queue.backend, "state": queue_state}}
    return jsonify(body), 200 if healthy else 503
