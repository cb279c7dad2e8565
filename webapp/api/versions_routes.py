"""Version history: list, one version's document, node-level diff, rollback into the draft."""

from __future__ import annotations

import copy
from typing import Any

from flask import jsonify, request
from sqlalchemy import func, select

import flows
from webapp.services.flowops import document_at, iso, version_or_400  # noqa: F401
from webapp.services.flows import save_draft

from ..extensions import db
from ..models import Conversation, Flow, FlowVersion, User
from ..tenancy import get_scoped_or_404, scoped
from .blueprint import bp
from .payload import ApiError, json_body


@bp.get("/flows/<int:flow_id>/versions")
def versions(flow_id: int) -> Any:
    """Newest first; `conversations` counts the conversations pinned to each version (they keep
    running on it after a newer one is published)."""
    flow = get_scoped_or_404(Flow, flow_id)
    pinned = dict(db.session.execute(
        select(Conversation.flow_version_id, func.count()).where(
            Conversation.tenant_id == flow.tenant_id, Conversation.flow_id == flow.id)
        .group_by(Conversation.flow_version_id)).all())
    rows = db.session.execute(
        scoped(FlowVersion, flow.tenant_id).add_columns(User.email)
        .outerjoin(User, User.id == FlowVersion.author_id)
        .where(FlowVersion.flow_id == flow.id).order_by(FlowVersion.number.desc())).all()
    return jsonify(versions=[
        {"number": v.number, "created_at": iso(v.created_at), "author": email, "note": v.note,
         "is_current": v.id == flow.published_version_id, "conversations": int(pinned.get(v.id, 0))}
        for v, email in rows])


@bp.get("/flows/<int:flow_id>/versions/<int:number>")
def version(flow_id: int, number: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    row = db.session.scalar(scoped(FlowVersion, flow.tenant_id)
                            .where(FlowVersion.flow_id == flow.id, FlowVersion.number == number))
    if row is None:
        raise ApiError(f"This flow has no version {number}.", 404)
    return jsonify(number=row.number, document=row.document, created_at=iso(row.created_at))


@bp.get("/flows/<int:flow_id>/diff")
def diff(flow_id: int) -> Any:
    """`from` defaults to the published version and `to` to the draft: "what would publishing change"."""
    flow = get_scoped_or_404(Flow, flow_id)
    published = flow.published_version.number if flow.published_version else None
    ref_from = request.args.get("from", published)
    if ref_from is None:
        raise ApiError("`from` is required: this flow has no published version yet.")
    before, _ = document_at(flow, ref_from)
    after, _ = document_at(flow, request.args.get("to", "draft"))
    return jsonify(flows.diff_documents(before, after))


@bp.post("/flows/<int:flow_id>/rollback")
def rollback(flow_id: int) -> Any:
    """Only the draft changes; customers keep the published version until the tenant publishes again."""
    flow = get_scoped_or_404(Flow, flow_id)
    data = json_body()
    if "version" not in data:
        raise ApiError("`version` is required.")
    row = version_or_400(flow, data["version"])
    save_draft(flow, copy.deepcopy(row.document))
    db.session.commit()
    return jsonify(draft=flow.draft, version=row.number)
