"""Editor page and flows-page actions; the data work lives in `webapp.services.flowops` so the JSON API and
these forms apply the same rules (plan limit, default flow protection)."""

from __future__ import annotations

import os
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.services.flowops import (
    create_for_tenant,
    delete_flow,
    gallery_language,
    make_default,
    templates_catalogue,
)

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..models import Flow
from ..services.errors import Refused as ApiError
from ..tenancy import current_tenant, get_scoped_or_404
from .blueprint import bp
from .messages import translations

BUNDLE = os.path.join("editor", "editor.js")


def bundle_built() -> bool:
    return os.path.isfile(os.path.join(current_app.static_folder or "", BUNDLE))


TEMPLATE_LANGUAGE_ARG = "template_language"
TEMPLATE_LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}  # each language named in itself


def _picker_language() -> str:
    """The gallery's language on the flows page: `?template_language=` if it names one, else the tenant's."""
    tenant = current_tenant()
    try:
        asked = gallery_language(request.args.get(TEMPLATE_LANGUAGE_ARG), tenant)
    except ApiError:  # a hand-edited link: show the tenant's language rather than an error page
        asked = None
    return asked or gallery_language(None, tenant) or "en"


@bp.app_template_global()
def flow_template_choices() -> list[dict[str, Any]]:
    """For the "New flow" picker on the flows page (rendered by the dashboard blueprint): the templates in
    the language `flow_template_languages` marks current."""
    return templates_catalogue(_picker_language())


@bp.app_template_global()
def flow_template_languages() -> list[dict[str, Any]]:
    """The picker's language switch: each language with the flows-page link that shows its templates."""
    current = _picker_language()
    return [{"code": code, "name": name, "current": code == current,
             "url": url_for("dashboard.flows", **{TEMPLATE_LANGUAGE_ARG: code})}
            for code, name in TEMPLATE_LANGUAGE_NAMES.items()]


@bp.get("/flows/<int:flow_id>/edit")
@tenant_member_required
def edit(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    return render_template("editor/edit.html", flow=flow, bundle_built=bundle_built(),
                           editor_messages=translations())


@bp.post("/flows/new")
@tenant_member_required
def new_flow() -> Any:
    """Two clicks from the flows page: pick a template (or none), press Create → the editor opens."""
    name = (request.form.get("name") or "").strip()[:200] or None
    template = (request.form.get("template") or "").strip() or None
    try:
        flow = create_for_tenant(current_tenant(), name, template)
    except ApiError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("dashboard.flows"))
    db.session.commit()
    flash(_("Flow “%(name)s” created.", name=flow.name), "success")
    return redirect(url_for(".edit", flow_id=flow.id))


@bp.post("/flows/<int:flow_id>/default")
@tenant_member_required
def set_default(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    try:
        make_default(current_tenant(), flow)
    except ApiError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("dashboard.flows"))
    db.session.commit()
    flash(_("“%(name)s” now answers messages no other flow matches.", name=flow.name), "success")
    return redirect(url_for("dashboard.flows"))


@bp.post("/flows/<int:flow_id>/delete")
@tenant_member_required
def delete(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    name = flow.name
    try:
        delete_flow(current_tenant(), flow)
    except ApiError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("dashboard.flows"))
    db.session.commit()
    flash(_("Flow “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("dashboard.flows"))
