"""Saved test conversations (recorded from the "Send test" chat) that "Check replies" replays."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import func, select

from webapp.services.flow_channels import simulator_channel_names
from webapp.services.flowops import iso

from ..extensions import db
from ..models import Flow, TestConversation
from ..tenancy import get_scoped_or_404
from .blueprint import bp
from .payload import ApiError, choice_of, json_body, messages_of, name_of
from .simulate_routes import KINDS

MAX_TESTS_PER_FLOW = 100


def test_dict(row: TestConversation) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "channel": row.channel, "kind": row.kind,
            "messages": list(row.messages or []), "created_at": iso(row.created_at)}


@bp.get("/flows/<int:flow_id>/tests")
def list_tests(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    rows = db.session.scalars(select(TestConversation).where(
        TestConversation.tenant_id == flow.tenant_id, TestConversation.flow_id == flow.id)
        .order_by(TestConversation.id)).all()
    return jsonify(tests=[test_dict(r) for r in rows])


@bp.post("/flows/<int:flow_id>/tests")
def save_test(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    data = json_body()
    name = name_of(data)
    messages = messages_of(data, allow_empty=False)
    channel = choice_of(data, "channel", simulator_channel_names(), "test")
    kind = choice_of(data, "kind", tuple(k for k in KINDS if k != "comment"), "dm")
    count = db.session.scalar(select(func.count()).select_from(TestConversation).where(
        TestConversation.tenant_id == flow.tenant_id, TestConversation.flow_id == flow.id)) or 0
    if count >= MAX_TESTS_PER_FLOW:
        raise ApiError(f"A flow keeps at most {MAX_TESTS_PER_FLOW} test conversations; delete some first.")
    row = TestConversation(tenant_id=flow.tenant_id, flow_id=flow.id, name=name, channel=channel, kind=kind,
                           messages=messages)
    db.session.add(row)
    db.session.commit()
    return jsonify(test_dict(row)), 201


@bp.delete("/flows/<int:flow_id>/tests/<int:test_id>")
def delete_test(flow_id: int, test_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    row = get_scoped_or_404(TestConversation, test_id)
    if row.flow_id != flow.id:
        raise ApiError("No such test conversation for this flow.", 404)
    db.session.delete(row)
    db.session.commit()
    return jsonify(deleted=test_id)
