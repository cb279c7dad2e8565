"""The tenant's own prompt layers. Saving adds a version row and retires the previous one, so the
history stays (staff can see what a bot was told when) and the engine reads only the newest."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from webapp.services.prompts import platform_layers, tenant_layers

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..models import PromptLayer
from ..tenancy import current_tenant, get_scoped_or_404, scoped
from .blueprint import bp
from .forms import LayerForm

MAX_LAYERS = 20


@bp.route("/prompts", methods=["GET", "POST"])
@tenant_member_required
def prompts() -> Any:
    tenant = current_tenant()
    form = LayerForm()
    own = tenant_layers(tenant)
    if form.validate_on_submit():
        if any(layer.key == form.key.data for layer in own):
            form.key.errors.append(_("A layer with this key exists: edit it instead."))
        elif len(own) >= MAX_LAYERS:
            form.key.errors.append(_("At most %(n)d layers.", n=MAX_LAYERS))
        else:
            db.session.add(PromptLayer(tenant_id=tenant.id, kind="tenant", key=form.key.data,
                                       name=(form.name.data or "").strip(), text=form.text.data.strip(),
                                       version=1, position=len(own), active=True))
            db.session.commit()
            flash(_("Prompt layer added."), "success")
            return redirect(url_for(".prompts"))
    return render_template("settings/prompts.html", form=form, layers=own,
                           platform=platform_layers(tenant)), 400 if form.errors else 200


@bp.route("/prompts/<int:layer_id>", methods=["GET", "POST"])
@tenant_member_required
def prompt_edit(layer_id: int) -> Any:
    layer = get_scoped_or_404(PromptLayer, layer_id)  # platform rows (tenant_id NULL) are never found
    tenant = current_tenant()
    history = db.session.scalars(scoped(PromptLayer).where(PromptLayer.key == layer.key)
                                 .order_by(PromptLayer.version.desc())).all()
    latest = history[0]
    form = LayerForm(data={"key": latest.key, "name": latest.name, "text": latest.text})
    if form.validate_on_submit():
        for row in history:
            row.active = False
        db.session.add(PromptLayer(tenant_id=tenant.id, kind="tenant", key=latest.key,
                                   name=(form.name.data or "").strip(), text=form.text.data.strip(),
                                   version=latest.version + 1, position=latest.position, active=True))
        db.session.commit()
        flash(_("Prompt layer saved as version %(n)d.", n=latest.version + 1), "success")
        return redirect(url_for(".prompts"))
    return render_template("settings/prompt_edit.html", form=form, layer=latest,
                           history=history), 400 if form.errors else 200

