"""Settings → Lead fields: the owner's own fields on every lead (key, label, type: text, number, date or a
choice of options), a plan feature (`custom_fields`). Stored in `tenant.settings["lead_fields"]`; the rules
live in webapp/services/lead_fields.py. Without the feature the page says it is a plan feature and offers no
form, and a POST is refused with 403."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from webapp.services import lead_fields

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..models import Tenant
from ..tenancy import current_tenant
from .blueprint import bp

TYPE_LABELS = {"text": _l("Text"), "number": _l("Number"), "date": _l("Date"), "choice": _l("Choice")}


class LeadFieldForm(FlaskForm):
    key = StringField(_l("Key"), validators=[Length(max=40)],
                      description=_l("Lowercase letters, digits and _, e.g. budget; the export's column is "
                                     "custom_<key>."))
    label = StringField(_l("Label"), validators=[Length(max=lead_fields.MAX_LABEL)])
    type = SelectField(_l("Type"), choices=list(TYPE_LABELS.items()))
    options = TextAreaField(_l("Options (a choice only: one per line)"), validators=[Optional(), Length(max=5000)])


def _refuse_without_feature(tenant: Tenant) -> None:
    if not lead_fields.allowed(tenant):
        abort(403, _("Custom lead fields are a feature of the Business and Pro plans: upgrade to use them."))


def _page(tenant: Tenant, form: LeadFieldForm | None, status: int = 200) -> Any:
    allowed = lead_fields.allowed(tenant)
    return render_template("settings/lead_fields.html", allowed=allowed, form=form if allowed else None,
                           fields=lead_fields.definitions(tenant) if allowed else [],
                           type_labels=TYPE_LABELS), status


@bp.route("/lead-fields", methods=["GET", "POST"], endpoint="lead_fields")
@tenant_member_required
def lead_fields_page() -> Any:
    """The tenant's custom lead fields and the form that adds one."""
    tenant = current_tenant()
    if request.method == "GET":
        return _page(tenant, LeadFieldForm(formdata=None))
    _refuse_without_feature(tenant)
    form = LeadFieldForm()
    if not form.validate_on_submit():
        return _page(tenant, form, 400)
    try:
        definition = lead_fields.make_definition(form.key.data, form.label.data, form.type.data,
                                                 form.options.data or "")
        lead_fields.add_definition(tenant, definition)
    except lead_fields.LeadFieldError as exc:
        for name, message in exc.errors.items():
            form[name].errors = [*form[name].errors, message]
        return _page(tenant, form, 400)
    db.session.commit()
    flash(_("Field %(label)s added.", label=definition.label), "success")
    return redirect(url_for(".lead_fields"))


@bp.post("/lead-fields/delete")
@tenant_member_required
def lead_fields_delete() -> Any:
    """Remove a field's definition; the values leads hold stay stored (adding the key again shows them)."""
    tenant = current_tenant()
    _refuse_without_feature(tenant)
    key = (request.form.get("key") or "")[:40]
    if not lead_fields.remove_definition(tenant, key):
        flash(_("There is no such field."), "warning")
        return redirect(url_for(".lead_fields")), 303
    db.session.commit()
    flash(_("Field removed. Leads keep their values."), "success")
    return redirect(url_for(".lead_fields")), 303
