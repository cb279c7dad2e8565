"""Back-office views of the pipeline: events that failed or were skipped (with a retry), and the tenant's own
channel set-up: connecting a Telegram bot by its token and adding a website chat (both through
webapp.services.channels, the same path as `flask channel add` and /admin, so the plan's limit holds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import update
from wtforms import Field, PasswordField, StringField, TextAreaField
from wtforms.fields import ColorField
from wtforms.validators import DataRequired, Length, Regexp, ValidationError

from connectors.runtime.jobs import retry_events
from connectors.runtime.queue import QueueUnavailable, get_queue
from webapp.connect.registry import offers, reconnect_url, reconnects
from webapp.services import id_pages
from webapp.services.channels import (
    COLOR_SETTING,
    DEFAULT_COLOR,
    GREETING_SETTING,
    ORIGINS_SETTING,
    ChannelSetupError,
    add_channel,
    parse_color,
    parse_greeting,
    parse_origins,
    reconnect_telegram,
    remove_channel,
    set_groups,
    update_webchat,
    webchat_settings,
    webchat_settings_from,
    webhook_url,
    widget_snippet,
)

from ..extensions import db
from ..models import Channel, ChannelChange, InboundEvent, Message
from ..tenancy import current_tenant, get_scoped_or_404, scoped
from .access import conversation_worker_required, owner_required
from .blueprint import bp


class TelegramForm(FlaskForm):
    token = PasswordField(_l("Bot token from @BotFather"), validators=[
        DataRequired(), Length(max=200),
        Regexp(r"^\d+:[A-Za-z0-9_-]+$", message=_l("A bot token looks like 123456789:AA..."))])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])


def _service_rule(parse: Callable[[Any], Any], split: bool = False) -> Callable[[FlaskForm, Field], None]:
    """A field validator that asks the service's own parser, so the page and the service share one rule."""
    def check(form: FlaskForm, field: Field) -> None:
        try:
            parse((field.data or "").splitlines() if split else field.data)
        except ChannelSetupError as exc:
            raise ValidationError(exc.message) from None
    return check


class WebchatForm(FlaskForm):
    """A website chat's name and widget settings (stored in the channel's settings)."""

    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])
    origins = TextAreaField(_l("Websites that may show the chat"), validators=[
        Length(max=20_000), _service_rule(parse_origins, split=True)],
        description=_l("One per line, like https://shop.example.com. Leave empty to allow any website."))
    color = ColorField(_l("Colour"), validators=[_service_rule(parse_color)])
    greeting = TextAreaField(_l("Greeting"), validators=[Length(max=2_000), _service_rule(parse_greeting)],
                             description=_l("The first message a visitor sees, e.g. \"Hi! How can we help?\""))

    def settings(self) -> dict[str, Any]:
        return webchat_settings_from((self.origins.data or "").splitlines(), self.color.data, self.greeting.data)


def render_channel(channel: Channel, webchat_form: WebchatForm | None = None) -> str:
    """The channel page; a website chat's page carries its settings form (the one just posted, with its
    errors, or one filled from the channel) and the full embed snippet."""
    if channel.type == "webchat" and webchat_form is None:
        current = webchat_settings(channel)
        webchat_form = WebchatForm(formdata=None, data={
            "name": channel.name, "origins": "\n".join(current[ORIGINS_SETTING]),
            "color": current[COLOR_SETTING], "greeting": current[GREETING_SETTING]})
    changes = db.session.scalars(scoped(ChannelChange).where(ChannelChange.channel_id == channel.id)
                                 .order_by(ChannelChange.id.desc()).limit(20)).all()
    return render_template("dashboard/channel.html", channel=channel, webhook_url=webhook_url(channel),
                           snippet=widget_snippet(channel), webchat_form=webchat_form, changes=changes,
                           reconnect_url=reconnect_url(channel))


def _refusal(form: FlaskForm, exc: ChannelSetupError) -> None:
    """Show a service refusal under the field it names, else as a message at the top of the page."""
    field = form._fields.get(str(exc.extra.get("field", "")))
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "danger")


@bp.get("/events")
@owner_required
def events():  # type: ignore[no-untyped-def]
    """Events of one status newest first, in keyset pages of `ix_inbound_tenant_id (tenant_id, id)`: every
    event can be reached with "Older" (the old list stopped at the newest 200)."""
    status = request.args.get("status", "failed")
    query = scoped(InboundEvent)
    if status in EVENT_STATUSES:
        query = query.where(InboundEvent.status == status)
    after = request.args.get("after") or None
    try:
        result = id_pages.page(query, InboundEvent, after, EVENTS_PAGE)
    except ValueError:
        abort(400, _("This page link is not valid any more: open the events again."))
    return render_template(
        "dashboard/events.html", events=result.rows, status=status,
        older_url=url_for(".events", status=status, after=result.next_cursor) if result.next_cursor else None,
        first_page_url=url_for(".events", status=status) if after else None)


EVENTS_PAGE = 50
EVENT_STATUSES = ("failed", "skipped", "done", "received", "queued", "processing")


@bp.post("/events/<int:event_id>/retry")
@owner_required
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
@conversation_worker_required
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


offers("telegram", "dashboard.connect_telegram", lambda: _("Connect a Telegram bot"))
offers("webchat", "dashboard.new_webchat", lambda: _("Add a website chat"))


@bp.route("/channels/telegram", methods=["GET", "POST"])
@owner_required
def connect_telegram():  # type: ignore[no-untyped-def]

    """Connect a bot by its token; with ``?channel=`` give the channel's own bot a new token (reconnect)."""
    form = TelegramForm()
    raw = request.args.get("channel", "")
    target = get_scoped_or_404(Channel, int(raw) if raw.isdigit() else -1) if raw else None
    if target is not None and target.type != "telegram":
        abort(404)
    if form.validate_on_submit():
        try:
            if target is not None:
                reconnect_telegram(target, form.token.data.strip(), current_user.email)
                channel = target
            else:
                channel = add_channel(current_tenant(), "telegram", token=form.token.data.strip(),
                                      name=(form.name.data or "").strip(), actor=current_user.email)
        except ChannelSetupError as exc:
            _refusal(form, exc)
        else:
            flash(_("Telegram bot reconnected; its webhook is set.") if target is not None
                  else _("Telegram bot connected; its webhook is set."), "success")
            return redirect(url_for(".channel_detail", channel_id=channel.id))
    failed = request.method == "POST"  # a valid form that got here was refused by the service
    return render_template("dashboard/telegram_connect.html", form=form, target=target), 400 if failed else 200


@reconnects
def _telegram(channel: Channel) -> str | None:
    return url_for("dashboard.connect_telegram", channel=channel.id) if channel.type == "telegram" else None


@bp.route("/channels/webchat", methods=["GET", "POST"])
@owner_required
def new_webchat():  # type: ignore[no-untyped-def]
    """Add a website chat: the widget's sites, colour and greeting; then the channel page shows the snippet."""
    form = WebchatForm()
    if form.validate_on_submit():
        try:
            channel = add_channel(current_tenant(), "webchat", name=(form.name.data or "").strip(),
                                  actor=current_user.email,
                                  settings=form.settings())
        except ChannelSetupError as exc:
            _refusal(form, exc)
        else:
            flash(_("Website chat added; put the snippet below on your website."), "success")
            return redirect(url_for(".channel_detail", channel_id=channel.id))
    elif request.method == "GET":
        form.color.data = DEFAULT_COLOR
    failed = request.method == "POST"
    return render_template("dashboard/webchat_new.html", form=form), 400 if failed else 200


@bp.post("/channels/<int:channel_id>/webchat")
@owner_required
def update_webchat_settings(channel_id: int):  # type: ignore[no-untyped-def]
    """Save a website chat's name, allowed sites, colour and greeting."""
    channel = get_scoped_or_404(Channel, channel_id)
    if channel.type != "webchat":
        abort(404)
    form = WebchatForm()
    if form.validate_on_submit():
        try:
            update_webchat(channel, origins=(form.origins.data or "").splitlines(), color=form.color.data,
                           greeting=form.greeting.data)
        except ChannelSetupError as exc:
            db.session.rollback()
            _refusal(form, exc)
        else:
            channel.name = (form.name.data or "").strip() or channel.name
            db.session.commit()
            flash(_("Website chat settings saved."), "success")
            return redirect(url_for(".channel_detail", channel_id=channel.id)), 303
    return render_channel(channel, webchat_form=form), 400


@bp.post("/channels/<int:channel_id>/groups")
@owner_required
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
@owner_required
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


@bp.post("/channels/<int:channel_id>/remove")
@owner_required
def remove_channel_page(channel_id: int):  # type: ignore[no-untyped-def]
    """Disconnect a channel (its conversations and history stay); the page asks first."""
    channel = get_scoped_or_404(Channel, channel_id)
    remove_channel(channel, current_user.email)
    flash(_("%(name)s was removed. Its conversations are kept.", name=channel.name), "success")
    return redirect(url_for(".channels"))
