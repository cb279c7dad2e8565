"""Back-office banners every page of a tenant shows: channels that need reconnecting.

A channel whose token was rejected or expired (connectors/pipeline: delivery.py, tokens.py) stops answering
without anyone noticing unless it is said where the tenant looks; so base.html names each one on every
page, with a link to its channel page. The query runs only when a page built on base.html asks for it
(`reconnect_needed()`), for a signed-in member, through the tenancy path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import Row

from webapp.extensions import db
from webapp.models import Channel
from webapp.tenancy import scoped

from .blueprint import bp


def reconnect_needed() -> list[Row[Any]]:
    """The signed-in member's channels in `needs_reconnect` (id, name, type, status_reason); none for staff
    and anonymous visitors. Once per request, however many times the template asks."""
    if not has_request_context() or not current_user.is_authenticated:
        return []
    if current_user.is_staff or current_user.tenant_id is None:
        return []
    if "reconnect_needed" not in g:
        g.reconnect_needed = db.session.execute(
            scoped(Channel).with_only_columns(Channel.id, Channel.name, Channel.type, Channel.status_reason)
            .where(Channel.status == "needs_reconnect").order_by(Channel.id)).all()
    return list(g.reconnect_needed)


@bp.app_context_processor
def _banners() -> dict[str, Callable[[], list[Row[Any]]]]:
    return {"reconnect_needed": reconnect_needed}
