"""Back-office views of the pipeline: events that failed or were skipped (with a retry), and connecting a
Telegram bot by its token (the same path as `flask channel add --type telegram`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import update
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from connectors.runtime.jobs import retry_events
from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.services.channels import ChannelSetupError, add_channel, set_groups

from ..extensions import db
from ..models import Channel, InboundEvent, Message
from ..tenancy import current_tenant, get_scoped_or_404, scoped
from .access import tenant_member_required
from .blueprint import bp


class TelegramForm(FlaskForm):
    token = PasswordField(_l("Bot token from @BotFather"), validators=[
        DataRequired(), Length(max=200),
        Regexp(r"^\d+:[A-Za-z0-9_-]+$", message=_l("A bot token looks like 123456789:AA..."))])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])


@bp.get("/events")
@tenant_member_required
def events():  # type: ignore[no-untyped-def]
    status = request.args.get("status", "failed")
    query = scoped(InboundEvent).order_by(InboundEvent.id.desc()).limit(200)
    if status in ("failed", "skipped", "done", "received", "queued", "processing"):
        query = query.where(InboundEvent.status == status)
    return render_template("dashboard/events.html", events=db.session.scalars(query).all(), status=status)


@bp.post("/events/<int:event_id>/retry")
@tenant_member_required
def retry_event(event_id: int):  # type: ignore[no-untyped-def]

    event = get_scoped_or_404(InboundEvent, event_id)
    if event.status not in ("failed", "skipped"):
        flash(_("Only failed or skipped events can be retried."), "warning")
    elif retry_events([event.id]):
        flash(_("Event queued again."), "success")
    else:
        flash(_("The queue is unavailable; the event will be retried automatically."), "warning")
    return redirect(url_for(".events", status=event.status))


@bp.post("/conversations/<int:conversation_id>/messages/<int:message_id>/send-again")
@tenant_member_required
def send_again(conversation_id: int, message_id: int):  # type: ignore[no-untyped-def]
    """A person's explicit "send again" of a reply whose delivery is unknown or failed: the page warned that
    the customer may get it twice (the pipeline never re-sends an unknown one on its own)."""
    message = get_scoped_or_404(Message, message_id)
    if message.conversation_id != conversation_id or message.direction != "out":
        abort(404)
    if request.form.get("may_duplicate") != "1":
        flash(_("Tick the box first: the customer may receive this reply twice."), "warning")
        return redirect(url_for(".conversation_detail", conversation_id=conversation_id)), 303
    moved = db.session.execute(update(Message).where(  # conditional: a status that settled it meanwhile wins
        Message.id == message.id, Message.delivery_status.in_(("unknown", "failed")))
        .values(delivery_status="pending", error=None)).rowcount
    db.session.commit()
    if not moved:
        flash(_("Only a reply whose delivery failed or is unknown can be sent again."), "warning")
        return redirect(url_for(".conversation_detail", conversation_id=conversation_id)), 303
    try:
        get_queue().enqueue("connectors.runtime.jobs.send_again", message.id)
        flash(_("The reply is being sent again."), "success")
    except QueueUnavailable:
        flash(_("The queue is unavailable; the reply will be sent automatically."), "warning")
    return redirect(url_for(".conversation_detail", conversation_id=conversation_id)), 303


@bp.route("/channels/telegram", methods=["GET", "POST"])
@tenant_member_required
def connect_telegram():  # type: ignore[no-untyped-def]

    form = TelegramForm()
    if form.validate_on_submit():
        try:
            channel = add_channel(current_tenant(), "telegram", token=form.token.data.strip(),
                                  name=(form.name.data or "").strip())
        except ChannelSetupError as exc:
            form.token.errors.append(str(exc))
        else:
            flash(_("Telegram bot connected; its webhook is set."), "success")
            return redirect(url_for(".channel_detail", channel_id=channel.id))
    return render_template("dashboard/telegram_connect.html", form=form), 400 if form.errors else 200


@bp.post("/channels/<int:channel_id>/groups")
@tenant_member_required
def set_channel_groups(channel_id: int):  # type: ignore[no-untyped-def]
    """Telegram: whether the bot answers in group chats and channels (off by default)."""
    channel = get_scoped_or_404(Channel, channel_id)
    if channel.type != "telegram":
        abort(404)
    allowed = request.form.get("allow_groups") == "1"
    try:
        set_groups(channel, allowed)
    except ChannelSetupError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("The bot answers in groups and channels too.") if allowed else
              _("The bot answers private chats only."), "success")
    return redirect(url_for(".channel_detail", channel_id=channel.id)), 303


@bp.post("/channels/<int:channel_id>/test-recipient")
@tenant_member_required
def set_test_recipient(channel_id: int):  # type: ignore[no-untyped-def]
    """The tenant's own account on this channel: the editor's "Send test" can send real messages to it."""
    import re

    channel = get_scoped_or_404(Channel, channel_id)
    value = (request.form.get("recipient") or "").strip()
    if value and not re.fullmatch(r"[A-Za-z0-9_.:+-]{1,128}", value):
        flash(_("A test recipient is an account or chat id: letters, digits and _ . : + - only."), "danger")
        return redirect(url_for(".channel_detail", channel_id=channel.id)), 303
    channel.settings = {**(channel.settings or {}), "test_recipient": value} if value else {
        k: v for k, v in (channel.settings or {}).items() if k != "test_recipient"}
    db.session.commit()
    flash(_("Test recipient saved.") if value else _("Test recipient removed."), "success")
    return redirect(url_for(".channel_detail", channel_id=channel.id))
