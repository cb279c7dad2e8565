"""Business profile (what the bot may tell customers) and the assembled-prompt preview."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from connectors.channels.registry import prompt_style
from flows.prompt import build_messages, estimate_messages_tokens
from flows.templates import split_key
from webapp.services.flowops import templates_catalogue
from webapp.services.prompts import layer_dicts

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..models import PromptLayer
from ..tenancy import current_tenant
from .blueprint import bp
from .forms import PreviewForm, ProfileForm

PROFILE_FIELDS = ("niche", "offer", "prices", "address", "hours", "tone")


def known_niches() -> list[str]:
    """Suggestions for the niche field: a niche matching a library layer's key picks that layer up."""
    keys = {split_key(key)[0] for key in db.session.scalars(  # `beauty_ru` is the beauty niche in Russian
        select(PromptLayer.key).where(PromptLayer.tenant_id.is_(None), PromptLayer.kind == "niche"))}
    keys |= {str(t.get("niche") or "") for t in templates_catalogue()}
    return sorted(k for k in keys if k and k != "general")


@bp.route("/", methods=["GET", "POST"])
@tenant_member_required
def profile() -> Any:
    tenant = current_tenant()
    stored = dict(tenant.profile or {})
    form = ProfileForm(data={**{k: stored.get(k) if isinstance(stored.get(k), str) else "" for k in PROFILE_FIELDS},
                             "language": tenant.language, "timezone": tenant.timezone or "UTC"})
    if form.validate_on_submit():
        for key in PROFILE_FIELDS:
            stored[key] = (getattr(form, key).data or "").strip()
        tenant.profile = stored  # a new dict: JSON columns are not mutation-tracked
        tenant.language = form.language.data
        tenant.timezone = form.timezone.data
        db.session.commit()
        flash(_("Business profile saved."), "success")
        return redirect(url_for(".profile"))
    return (render_template("settings/profile.html", form=form, niches=known_niches()),
            400 if form.errors else 200)


@bp.route("/preview", methods=["GET", "POST"])
@tenant_member_required
def preview() -> Any:
    """What an AI reply node would send for this message: the same layers, profile and FAQ ranking."""
    tenant = current_tenant()
    form = PreviewForm()
    messages: list[dict[str, Any]] = []
    if form.validate_on_submit():
        profile_data = dict(tenant.profile or {})
        messages = build_messages(layers=layer_dicts(tenant), profile=profile_data,
                                  node_prompt=form.node_prompt.data or "", history=[],
                                  user_message=form.message.data, language=tenant.language or "en",
                                  channel_style=prompt_style(form.channel.data),
                                  faq_entries=profile_data.get("faq") or [])
    return render_template("settings/preview.html", form=form, messages=messages,
                           tokens=estimate_messages_tokens(messages) if messages else 0)
