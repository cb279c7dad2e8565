"""Which flow version runs a turn: the conversation's pinned version while it runs (except for a comment),
else the first published flow whose trigger matches, else the tenant's default flow (not for a comment)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from flows.select import choose_flow
from flows.turn import TurnEvent
from webapp.extensions import db
from webapp.models import Conversation, Flow, FlowVersion, Tenant
from webapp.services.flows import compiled_by_id

from .cache import TTLCache

_published: TTLCache[list[tuple[int, int]]] = TTLCache(
    5.0, cleared_by=((Flow, ("after_update", "after_delete")), (Tenant, ("after_update",))))


def published_flows(tenant_id: int) -> list[tuple[int, int]]:
    """(flow id, published version id) in the tenant's order (every new conversation asks: cache.py)."""
    return _published.get(tenant_id, lambda: [(fid, vid) for fid, vid in db.session.execute(
        select(Flow.id, Flow.published_version_id).where(Flow.tenant_id == tenant_id,
                                                         Flow.published_version_id.is_not(None))
        .order_by(Flow.position, Flow.id))])


def pick_flow(tenant: Tenant, conv: Conversation, tevent: TurnEvent) -> tuple[FlowVersion, Any, str] | None:
    """A comment is a new entry point even while the conversation runs (it never answers the pinned flow's
    question, flows.engine.step): it is routed by the published flows' comment triggers, never by the pin."""
    state = conv.state or {}
    if tevent.kind != "comment" and conv.flow_version_id and state and not state.get("finished"):
        pinned = compiled_by_id(conv.flow_version_id)
        if pinned is not None:
            version, flow = pinned
            return version, flow, f"continuing on pinned version {version.number} of flow {version.flow_id}"
    published = published_flows(tenant.id)
    compiled = {fid: compiled_by_id(vid) for fid, vid in published}
    candidates = [(fid, pair[1]) for fid, pair in compiled.items() if pair is not None]
    default = tenant.default_flow_id if tenant.default_flow_id in compiled else None
    key, reason = choose_flow(candidates, tevent, default)
    if key is None or compiled.get(key) is None:
        return None
    version, flow = compiled[key]  # type: ignore[misc]
    return version, flow, reason
