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
from .media import media_entries

DELIVERY_LABELS: dict[str, Callable[[], str]] = {
    "pending": lambda: _("waiting to be sent"), "claimed": lambda: _("sending"), "sending": lambda: _("sending"),
    "retrying": lambda: _("will be retried"), "sent": lambda: _("sent"), "delivered": lambda: _("delivered"),
    "read": lambda: _("read"), "unknown": lambda: _("delivery unknown"), "failed": lambda: _("not delivered"),
    "skipped": lambda: _("not sent")}


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
