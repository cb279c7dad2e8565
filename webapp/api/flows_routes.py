"""Flows: palette, templates, list/create, read, rename/delete/default, draft, validate, publish."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask_babel import gettext
from flask_login import current_user

import flows
from webapp.services.flow_channels import flow_channel_choices
from webapp.services.flowops import (
    create_for_tenant,
    delete_flow,
    flow_detail,
    flow_summary,
    gallery_language,
    iso,
    make_default,
    templates_catalogue,
)
from webapp.services.flows import DocumentRefused, PublishRefused, check_document, problems_of, publish, save_draft

from ..extensions import db
from ..models import Flow
from ..tenancy import current_tenant, get_scoped_or_404, scoped
from .blueprint import bp
from .payload import ApiError, document_of, json_body, name_of


@bp.get("/node-types")
def node_types() -> Any:
    return jsonify(node_types=flows.node_types(channels=flow_channel_choices(), translate=gettext))


@bp.get("/templates")
def templates() -> Any:
    """The gallery in the tenant's language unless `?language=en|ru|all` asks for another."""
    language = gallery_language(request.args.get("language"), current_tenant())
    return jsonify(templates=templates_catalogue(language), language=language or "all")


@bp.get("/flows")
def list_flows() -> Any:
    tenant = current_tenant()
    rows = db.session.scalars(scoped(Flow).order_by(Flow.position, Flow.id)).all()
    return jsonify(flows=[flow_summary(f, tenant) for f in rows])


@bp.post("/flows")
def create() -> Any:
    data = json_body()
    name = name_of(data, required=False)
    template = data.get("template")
    if template is not None and (not isinstance(template, str) or not template):
        raise ApiError("`template` must be a template key (see GET /api/templates).")
    tenant = current_tenant()
    flow = create_for_tenant(tenant, name, template)
    db.session.commit()
    return jsonify(flow_detail(flow, tenant)), 201


@bp.get("/flows/<int:flow_id>")
def get_flow(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    return jsonify(flow_detail(flow, current_tenant()))


@bp.patch("/flows/<int:flow_id>")
def rename(flow_id: int) -> Any:
    """Renaming also renames the draft document, so an export carries the name the tenant sees."""
    flow = get_scoped_or_404(Flow, flow_id)
    name = name_of(json_body())
    flow.name = name
    flow.draft = {**(flow.draft or {}), "name": name}
    db.session.commit()
    return jsonify(flow_summary(flow, current_tenant()))


@bp.delete("/flows/<int:flow_id>")
def delete(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    delete_flow(current_tenant(), flow)
    db.session.commit()
    return jsonify(deleted=flow_id)


@bp.post("/flows/<int:flow_id>/default")
def set_default(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    tenant = current_tenant()
    make_default(tenant, flow)
    db.session.commit()
    return jsonify(flow_summary(flow, tenant))


def _checked_document(data: dict[str, Any]) -> dict[str, Any]:
    document = document_of(data)
    try:
        check_document(document)
    except DocumentRefused as exc:
        raise ApiError(str(exc)) from None
    return document


@bp.put("/flows/<int:flow_id>/draft")
def put_draft(flow_id: int) -> Any:
    """Saves anything the engine can read, errors included (the editor autosaves work in progress);
    a document it cannot read at all (`bad_document`) is refused so the stored draft stays usable."""
    flow = get_scoped_or_404(Flow, flow_id)
    document = _checked_document(json_body())
    problems = problems_of(document)
    if any(p["code"] == "bad_document" for p in problems):
        raise ApiError("The document is not a usable flow.", problems=problems)
    save_draft(flow, document)
    db.session.commit()
    return jsonify(saved_at=iso(flow.draft_updated_at), problems=problems)


@bp.post("/flows/<int:flow_id>/validate")
def validate(flow_id: int) -> Any:
    get_scoped_or_404(Flow, flow_id)
    return jsonify(problems=problems_of(_checked_document(json_body())))


@bp.post("/flows/<int:flow_id>/publish")
def publish_flow(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    note = json_body(optional=True).get("note", "")
    if not isinstance(note, str) or len(note) > 300:
        raise ApiError("`note` must be a string of at most 300 characters.")
    try:
        version = publish(flow, author_id=current_user.id, note=note.strip())
    except PublishRefused as exc:
        db.session.rollback()
        raise ApiError(str(exc), 409, problems=exc.problems) from None
    db.session.commit()
    return jsonify(version=version.number)

