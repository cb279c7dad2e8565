"""The conversation page's actions: take over, hand back, close, and a member's reply through the channel.

Thin over webapp/services/handoff.py (the tests drive the same functions); each action answers with a
redirect to the page (303), a refusal as a flashed message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.services import handoff
from webapp.services.errors import Refused

from ..extensions import db
from ..models import Conversation, Message
from ..tenancy import get_scoped_or_404, scoped
from .access import conversation_worker_required
from .blueprint import bp

DELIVERY_LABELS: dict[str, Callable[[], str]] = {
    "pending": lambda: _("waiting to be sent"), "claimed": lambda: _("sending"), "sending": lambda: _("sending"),
    "retrying": lambda: _("will be retried"), "sent": lambda: _("sent"), "delivered": lambda: _("delivered"),
    "read": lambda: _("read"), "unknown": lambda: _("delivery unknown"), "failed": lambda: _("not delivered"),
    "skipped": lambda: _("not sent")}


#: How the transcript shows a customer's attachment (connectors/channels/events.media_item's kinds): an icon
#: and a label; the media itself is never fetched (Meta's and WhatsApp's links need the channel's token
#: and expire), only a link where the platform gave one.
MEDIA_LABELS: dict[str, tuple[str, Callable[[], str]]] = {
    "image": ("\U0001f5bc", lambda: _("Photo")), "audio": ("\U0001f3a4", lambda: _("Voice or audio")),
    "video": ("\U0001f3ac", lambda: _("Video")), "sticker": ("\U0001f642", lambda: _("Sticker")),
    "file": ("\U0001f4ce", lambda: _("File")), "location": ("\U0001f4cd", lambda: _("Location")),
    "other": ("\u2709", lambda: _("Message the bot cannot read"))}


def _coordinate(value: Any, limit: float) -> float | None:
    """A latitude or longitude as stored (a number within ±limit), else None: no map link from junk."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
        return None
    return float(value)


def media_entries(payload: Any) -> list[dict[str, Any]]:
    """A stored message's attachments as the page shows them: icon, label, file name or title, a link only
    where the platform gave an http(s) URL, a map link for a location's coordinates."""
    media = payload.get("media") if isinstance(payload, dict) else None
    entries = []
    for item in media if isinstance(media, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("kind") if item.get("kind") in MEDIA_LABELS else "other"
        icon, label = MEDIA_LABELS[kind]
        url = item.get("url") if isinstance(item.get("url"), str) else ""
        lat, lon = _coordinate(item.get("latitude"), 90), _coordinate(item.get("longitude"), 180)
        map_url = (f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
                   if lat is not None and lon is not None else None)
        entries.append({"kind": kind, "icon": icon, "label": label(),
                        "name": item.get("file_name") or item.get("title") or item.get("address") or "",
                        "url": url if url.startswith(("https://", "http://")) else None, "map_url": map_url})
    return entries


def render_conversation(conv: Conversation) -> Any:
    """The transcript with each reply's delivery status, who owns the conversation, and the reply form with
    the channel's window rules shown before sending (a fresh one-time token per page: a form sent twice
    stores one reply)."""
    messages = db.session.scalars(
        scoped(Message).where(Message.conversation_id == conv.id).order_by(Message.id)).all()
    rules = handoff.window_rules_for(conv) if conv.status == "open" else None
    return render_template("dashboard/conversation.html", conv=conv, messages=messages, rules=rules,
                           reply_token=uuid.uuid4().hex, media={m.id: media_entries(m.payload) for m in messages},
                           delivery_labels={k: label() for k, label in DELIVERY_LABELS.items()})


def _back(conv: Conversation) -> Any:
    return redirect(url_for(".conversation_detail", conversation_id=conv.id)), 303


def _act(conversation_id: int, action: Callable[[Conversation], Any], done: str) -> Any:
    conv = get_scoped_or_404(Conversation, conversation_id)
    try:
        action(conv)
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _back(conv)
    flash(done, "success")
    return _back(conv)


@bp.post("/conversations/<int:conversation_id>/take-over")
@conversation_worker_required
def take_over(conversation_id: int) -> Any:
    return _act(conversation_id, lambda c: handoff.take_over(c, current_user.email),
                _("You took over: the bot is paused in this conversation."))


@bp.post("/conversations/<int:conversation_id>/hand-back")
@conversation_worker_required
def hand_back(conversation_id: int) -> Any:
    return _act(conversation_id, handoff.hand_back, _("Handed back: the bot answers again."))


@bp.post("/conversations/<int:conversation_id>/close")
@conversation_worker_required
def close_conversation(conversation_id: int) -> Any:
    return _act(conversation_id, handoff.close, _("Conversation closed."))


@bp.post("/conversations/<int:conversation_id>/reply")
@conversation_worker_required
def reply(conversation_id: int) -> Any:
    conv = get_scoped_or_404(Conversation, conversation_id)
    try:
        stored = handoff.operator_reply(conv, current_user.email, request.form.get("reply_token", ""),
                                        text=request.form.get("text", ""),
                                        template=request.form.get("template", ""))
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _back(conv)
    flash(_("Reply sent to the channel.") if stored else _("This reply was sent already."),
          "success" if stored else "info")
    return _back(conv)
