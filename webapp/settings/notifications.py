"""Settings → Notifications: per event type where notifications go (Telegram, email, webhook), the addresses,
linking the owner's Telegram chat to the platform bot, the webhook's signing secret, and the delivery log.

A new signing secret and a Telegram link are shown on the page that made them, once: neither is kept in a
cookie nor shown again (only the link code's hash is stored)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import Email, Length, Optional, ValidationError

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..models import Notification, NotificationDelivery
from ..services.mail import mail_configured
from ..services.notifications import EVENT_TYPES
from ..services.notify_settings import (
    DESTINATIONS,
    LINK_CODE_FOR,
    chosen,
    new_link_code,
    new_webhook_secret,
    owner_email,
    prefs,
    save_choices,
    unlink_chat,
    webhook_secret,
)
from ..tenancy import current_tenant, scoped
from .blueprint import bp

LOG_ROWS = 100


def _web_url(form: FlaskForm, field: StringField) -> None:
    parts = urlsplit(field.data or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_l("Enter a full http:// or https:// URL."))
    if parts.username or parts.password:
        raise ValidationError(_l("Leave user names and passwords out of the URL: the requests are signed."))


class NotificationsForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[Optional(), Email(), Length(max=255)])
    webhook_url = StringField(_l("Webhook URL"), validators=[Optional(), Length(max=500), _web_url])


for _event in EVENT_TYPES:  # one checkbox per event type and destination: "<event>__<destination>"
    for _destination in DESTINATIONS:
        setattr(NotificationsForm, f"{_event}__{_destination}", BooleanField())


def _bot_ready() -> bool:
    return bool(current_app.config.get("NOTIFY_TELEGRAM_TOKEN") and current_app.config.get("NOTIFY_TELEGRAM_BOT"))


def _page(form: NotificationsForm, status: int = 200, **shown: Any) -> Any:
    tenant = current_tenant()
    stored = prefs(tenant.settings)
    return render_template(
        "settings/notifications.html", form=form, events=EVENT_TYPES, destinations=DESTINATIONS,
        stored=stored, owner_email=owner_email(tenant.id), mail_ready=mail_configured(),
        bot_ready=_bot_ready(),
        has_secret=webhook_secret(tenant) is not None, link_minutes=int(LINK_CODE_FOR.total_seconds() // 60),
        **shown), status


@bp.route("/notifications", methods=["GET", "POST"])
@tenant_member_required
def notifications() -> Any:
    tenant = current_tenant()
    form = NotificationsForm(data=_stored_data(tenant))
    if form.validate_on_submit():
        events = {event: [d for d in DESTINATIONS if getattr(form, f"{event}__{d}").data] for event in EVENT_TYPES}
        url = (form.webhook_url.data or "").strip()
        save_choices(tenant, events, (form.email.data or "").strip().lower(), url)
        made = None
        if url and webhook_secret(tenant) is None:  # a URL without a secret could not be signed
            made = new_webhook_secret(tenant)
        db.session.commit()
        if made:
            return _page(_fresh_form(), new_secret=made)
        flash(_("Notification settings saved."), "success")
        return redirect(url_for(".notifications"))
    return _page(form, 400 if form.errors else 200)


@bp.post("/notifications/secret")
@tenant_member_required
def notifications_secret() -> Any:
    """A new webhook signing secret, shown on this page only."""
    form = FlaskForm()
    if not form.validate_on_submit():
        return redirect(url_for(".notifications"))
    secret = new_webhook_secret(current_tenant())
    db.session.commit()
    return _page(_fresh_form(), new_secret=secret)


@bp.post("/notifications/telegram")
@tenant_member_required
def notifications_telegram() -> Any:
    """A one-time code and its t.me link: opening it and pressing Start links the chat."""
    form = FlaskForm()
    bot = current_app.config.get("NOTIFY_TELEGRAM_BOT")
    if not form.validate_on_submit() or not bot or not current_app.config.get("NOTIFY_TELEGRAM_TOKEN"):
        return redirect(url_for(".notifications"))
    code = new_link_code(current_tenant())
    db.session.commit()
    return _page(_fresh_form(), link=f"https://t.me/{bot}?start={code}", code=code)


@bp.post("/notifications/telegram/unlink")
@tenant_member_required
def notifications_unlink() -> Any:
    form = FlaskForm()
    if form.validate_on_submit():
        unlink_chat(current_tenant())
        db.session.commit()
        flash(_("The Telegram chat is no longer linked."), "success")
    return redirect(url_for(".notifications"))


def _stored_data(tenant: Any) -> dict[str, Any]:
    stored = prefs(tenant.settings)
    data: dict[str, Any] = {"email": stored.get("email") or "", "webhook_url": stored.get("webhook_url") or ""}
    for event in EVENT_TYPES:
        for destination in chosen(tenant.settings, event):
            data[f"{event}__{destination}"] = True
    return data


def _fresh_form() -> NotificationsForm:
    """The settings form as stored (after an action that was not the form's own submit)."""
    return NotificationsForm(formdata=None, data=_stored_data(current_tenant()))


@bp.get("/notifications/log")
@tenant_member_required
def notifications_log() -> Any:
    """The last deliveries: what was sent where, how often it was tried and why it failed."""
    rows = db.session.execute(
        scoped(NotificationDelivery)
        .add_columns(Notification.title, Notification.kind, Notification.lead_id, Notification.conversation_id)
        .join(Notification, Notification.id == NotificationDelivery.notification_id)
        .order_by(NotificationDelivery.id.desc()).limit(LOG_ROWS)).all()
    return render_template("settings/notification_log.html", rows=rows)
