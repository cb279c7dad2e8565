""""Send test", "Simulate comment" and "Check replies": the simulator run on the draft or a version with
services built from the tenant, never touching a real channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, jsonify
from flask_login import current_user
from sqlalchemy import select

import flows
from connectors.channels.registry import message_kind
from flows.simulator import simulate
from webapp.services.flow_channels import flow_channel_names, simulator_channel_names
from webapp.services.flowops import version_or_400
from webapp.services.flows import compiled_version
from webapp.services.simulation import tenant_services

from ..extensions import db, limiter
from ..models import Flow, Tenant, TestConversation
from ..tenancy import current_tenant, get_scoped_or_404
from .blueprint import bp
from .payload import ApiError, choice_of, json_body, messages_of

KINDS = ("dm", "message", "webchat", "comment")


def _run_limit() -> str:
    """Each run may call the tenant's LLM once per turn: a per-user cap keeps a stuck button or a
    script from burning the tenant's token budget (`SIMULATE_RATE_LIMIT` overrides it)."""
    return str(current_app.config.get("SIMULATE_RATE_LIMIT") or "60 per minute")


def _user_key() -> str:
    return f"simulate:{current_user.get_id()}"


def compiled_at(flow: Flow, ref: Any) -> tuple[Any, int | None]:
    """The compiled draft (400 with its problems if it cannot run) or a cached compiled version."""
    if ref is None or ref == "draft":
        try:
            return flows.load_flow(flow.draft or {}, channels=flow_channel_names()), None
        except flows.FlowError as exc:
            raise ApiError("The draft has errors, fix them to run it: " + str(exc),
                           problems=[p.to_dict() for p in exc.problems]) from None
    version = version_or_400(flow, ref)
    try:
        return compiled_version(version), version.number
    except flows.FlowError as exc:  # published under an older engine whose rules have since tightened
        raise ApiError(f"Version {version.number} can no longer run: {exc}",
                       problems=[p.to_dict() for p in exc.problems]) from None


def comment_of(data: dict[str, Any]) -> dict[str, Any] | None:
    comment = data.get("comment")
    if comment is None:
        return None
    if not isinstance(comment, dict) or not isinstance(comment.get("text", ""), str):
        raise ApiError('`comment` must be an object {"text", "post_id"}.')
    post_id = comment.get("post_id")
    if post_id is not None and not isinstance(post_id, str | int):
        raise ApiError("`comment.post_id` must be a string.")
    return {"text": comment.get("text", "")[:2000], "post_id": "" if post_id is None else str(post_id)[:100]}


def run(tenant: Tenant, compiled: Any, *, channel: str, kind: str, messages: list[str],
        comment: dict[str, Any] | None = None, at: datetime | None = None) -> dict[str, Any]:
    result = simulate(compiled, channel=channel, kind=kind, message_kind=message_kind(channel), messages=messages,
                      comment=comment,
                      services=tenant_services(tenant, channel, at=at))
    result.pop("state", None)
    return result


@bp.post("/flows/<int:flow_id>/simulate")
@limiter.shared_limit(_run_limit, scope="simulator", key_func=_user_key)
def simulate_flow(flow_id: int) -> Any:
    flow = get_scoped_or_404(Flow, flow_id)
    data = json_body()
    channel = choice_of(data, "channel", simulator_channel_names(), "test")
    kind = choice_of(data, "kind", KINDS, "dm")
    messages = messages_of(data)
    comment = comment_of(data)
    if not messages and comment is None:
        raise ApiError("Give at least one message or a comment to simulate.")
    compiled, number = compiled_at(flow, data.get("version", "draft"))
    result = run(current_tenant(), compiled, channel=channel, kind=kind, messages=messages, comment=comment)
    return jsonify(version=number if number is not None else "draft", **result)


def _replies(turn: dict[str, Any]) -> list[dict[str, Any]]:
    return turn["replies"]


@bp.post("/flows/<int:flow_id>/check-replies")
@limiter.shared_limit(_run_limit, scope="simulator", key_func=_user_key)
def check_replies(flow_id: int) -> Any:
    """Each saved conversation runs on the published version and on the draft at the same instant;
    a turn is `changed` when the bot's replies (text, buttons, kind) differ."""
    flow = get_scoped_or_404(Flow, flow_id)
    json_body(optional=True)
    tenant = current_tenant()
    draft, _ = compiled_at(flow, "draft")
    published = (compiled_at(flow, flow.published_version.number)[0]
                 if flow.published_version is not None else None)
    at = datetime.now(UTC)
    cases = []
    rows = db.session.scalars(select(TestConversation).where(
        TestConversation.tenant_id == tenant.id, TestConversation.flow_id == flow.id)
        .order_by(TestConversation.id)).all()
    for case in rows:
        opts = {"channel": case.channel, "kind": case.kind, "messages": list(case.messages or []), "at": at}
        new = run(tenant, draft, **opts)["turns"]
        old = run(tenant, published, **opts)["turns"] if published is not None else None
        turns = []
        for i, turn in enumerate(new):
            before = _replies(old[i]) if old is not None and i < len(old) else None
            turns.append({"input": turn["input"], "published": before, "draft": _replies(turn),
                          "changed": before is not None and before != _replies(turn)})
        cases.append({"id": case.id, "name": case.name, "turns": turns,
                      "changed": any(t["changed"] for t in turns)})
    return jsonify(cases=cases, published_version=flow.published_version.number
                   if flow.published_version is not None else None)
