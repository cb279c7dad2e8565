"""Settings → Handoff: the phrases with which a customer asks for a person, how long a customer may wait for
one before "we'll get back to you" goes out (and its text), and Meta's Human Agent permission (a person may
answer Instagram and Messenger conversations for 7 days). Stored in `tenant.settings`
(webapp/services/handoff_settings.py reads them for the pipeline and the conversation page)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from flows.handoff import default_keywords, parse_keywords
from webapp.services import bot_texts
from webapp.services.handoff_settings import (
    HUMAN_AGENT,
    KEYWORDS,
    MAX_WAIT_MINUTES,
    MEDIA_TEXT,
    WAIT_MINUTES,
    WAIT_TEXT,
    of_tenant,
)

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..tenancy import current_tenant
from .blueprint import bp


class HandoffForm(FlaskForm):
    keywords = TextAreaField(_l("Phrases that call a person (one per line)"),
                             validators=[Optional(), Length(max=4000)])
    wait_minutes = IntegerField(_l("Minutes a customer waits for a person before the automatic notice (0: never)"),
                                validators=[InputRequired(), NumberRange(min=0, max=MAX_WAIT_MINUTES)])
    wait_text = TextAreaField(_l("Automatic notice (empty: the built-in text)"),
                              validators=[Optional(), Length(max=1000)])
    media_text = TextAreaField(_l("Answer to photos, voice notes and other messages without text (empty: the "
                                  "built-in text)"), validators=[Optional(), Length(max=1000)])
    human_agent = BooleanField(_l("Answer Instagram and Messenger customers for 7 days (Meta's Human Agent "
                                  "permission, tag HUMAN_AGENT)"))


@bp.route("/handoff", methods=["GET", "POST"])
@tenant_member_required
def handoff() -> Any:
    tenant = current_tenant()
    current = of_tenant(tenant)
    form = HandoffForm(data={"keywords": "\n".join(current.keywords), "wait_minutes": current.wait_minutes,
                             "wait_text": current.wait_text if current.custom_wait_text else "",
                             "human_agent": current.human_agent_tag,
                             "media_text": current.media_text if current.custom_media_text else ""})
    if form.validate_on_submit():
        settings = dict(tenant.settings or {})
        phrases = parse_keywords(form.keywords.data or "")
        if phrases == default_keywords(tenant.language):  # untouched defaults follow the tenant's language
            settings.pop(KEYWORDS, None)
        else:
            settings[KEYWORDS] = list(phrases)
        settings[WAIT_MINUTES] = int(form.wait_minutes.data or 0)
        settings[WAIT_TEXT] = (form.wait_text.data or "").strip()
        settings[HUMAN_AGENT] = bool(form.human_agent.data)
        settings[MEDIA_TEXT] = (form.media_text.data or "").strip()
        tenant.settings = settings  # a new dict: JSON columns are not mutation-tracked
        db.session.commit()
        flash(_("Handoff settings saved."), "success")
        return redirect(url_for(".handoff"))
    return (render_template("settings/handoff.html", form=form, default_text=current.wait_text,
                            default_media_text=bot_texts.text("media.text_only", tenant.language),
                            defaults=default_keywords(tenant.language)), 400 if form.errors else 200)
