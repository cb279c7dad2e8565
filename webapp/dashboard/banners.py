"""Back-office banners every page of a tenant shows: channels that need reconnecting.

A channel whose token was rejected or expired (connectors/pipeline: delivery.py, tokens.py) stops answering
without anyone noticing unless it is said where the tenant looks; so base.html names each one on every
page, with a one-click Reconnect when a connect page can bring the token back (webapp/connect/reconnect.py),
else a link to its channel page. The query runs only when a page built on base.html asks for it
(`reconnect_needed()`), for a signed-in member, through the tenancy path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from flask_login import current_user

from webapp.connect.registry import reconnect_url
from webapp.extensions import db
from webapp.models import Channel
from webapp.tenancy import scoped

from .blueprint import bp


def reconnect_needed() -> list[dict[str, Any]]:
    """The signed-in member's channels in `needs_reconnect` (id, name, type, status_reason, reconnect URL or
    None); none for staff and anonymous visitors. Once per request, however many times the template asks."""
    if not has_request_context() or not current_user.is_authenticated:
        return []
    if current_user.is_staff or current_user.tenant_id is None:
        return []
    if "reconnect_needed" not in g:
        channels = db.session.scalars(scoped(Channel).where(Channel.status == "needs_reconnect")
                                      .order_by(Channel.id)).all()
        g.reconnect_needed = [{"id": ch.id, "name": ch.name, "type": ch.type, "status_reason": ch.status_reason,
                               "reconnect_url": reconnect_url(ch)} for ch in channels]
    return list(g.reconnect_needed)


@bp.app_context_processor
def _banners() -> dict[str, Callable[..., Any]]:
    return {"reconnect_needed": reconnect_needed, "reconnect_url": reconnect_url}
