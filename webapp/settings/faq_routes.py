"""FAQ pages: list + add, edit, delete, CSV import and export."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..dashboard.access import tenant_member_required
from ..extensions import db
from ..tenancy import current_tenant
from .blueprint import bp
from .faq import MAX_CSV_BYTES, MAX_ENTRIES, CsvProblem, entries, parse_csv, store, to_csv
from .forms import FaqForm, FaqImportForm


def _page(form: FaqForm, import_form: FaqImportForm, status: int = 200) -> Any:
    return render_template("settings/faq.html", faq=entries(current_tenant()), form=form,
                           import_form=import_form), status


@bp.route("/faq", methods=["GET", "POST"])
@tenant_member_required
def faq() -> Any:
    form = FaqForm()
    if form.validate_on_submit():
        tenant = current_tenant()
        current = entries(tenant)
        if len(current) >= MAX_ENTRIES:
            flash(_("At most %(n)d FAQ entries.", n=MAX_ENTRIES), "danger")
            return _page(form, FaqImportForm(formdata=None), 400)
        store(tenant, [*current, {"q": form.question.data.strip(), "a": form.answer.data.strip()}])
        db.session.commit()
        flash(_("FAQ entry added."), "success")
        return redirect(url_for(".faq"))
    return _page(form, FaqImportForm(formdata=None), 400 if form.errors else 200)


@bp.route("/faq/<int:index>/edit", methods=["GET", "POST"])
@tenant_member_required
def faq_edit(index: int) -> Any:
    tenant = current_tenant()
    current = entries(tenant)
    if index >= len(current):
        abort(404)
    form = FaqForm(data={"question": current[index]["q"], "answer": current[index]["a"]})
    if form.validate_on_submit():
        current[index] = {"q": form.question.data.strip(), "a": form.answer.data.strip()}
        store(tenant, current)
        db.session.commit()
        flash(_("FAQ entry saved."), "success")
        return redirect(url_for(".faq"))
    return render_template("settings/faq_edit.html", form=form, index=index), 400 if form.errors else 200


@bp.post("/faq/<int:index>/delete")
@tenant_member_required
def faq_delete(index: int) -> Any:
    tenant = current_tenant()
    current = entries(tenant)
    if index >= len(current):
        abort(404)
    del current[index]
    store(tenant, current)
    db.session.commit()
    flash(_("FAQ entry deleted."), "success")
    return redirect(url_for(".faq"))


@bp.post("/faq/import")
@tenant_member_required
def faq_import() -> Any:
    import_form = FaqImportForm()
    if import_form.validate_on_submit():
        try:
            rows = parse_csv(import_form.file.data.read(MAX_CSV_BYTES + 1))
        except CsvProblem as exc:
            import_form.file.errors.append(str(exc))
        else:
            tenant = current_tenant()
            merged = rows if import_form.mode.data == "replace" else [*entries(tenant), *rows]
            if len(merged) > MAX_ENTRIES:
                import_form.file.errors.append(_("At most %(n)d FAQ entries.", n=MAX_ENTRIES))
            else:
                store(tenant, merged)
                db.session.commit()
                flash(_("%(n)d FAQ entries imported.", n=len(rows)), "success")
                return redirect(url_for(".faq"))
    return _page(FaqForm(formdata=None), import_form, 400)


@bp.get("/faq.csv")
@tenant_member_required
def faq_export() -> Any:
    return Response(to_csv(entries(current_tenant())), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=faq.csv"})
