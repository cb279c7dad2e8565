"""Which flow version runs a turn: the conversation's pinned version while it runs (except for a comment,
and a typed message another flow's keyword trigger matches), else the first published flow whose trigger
matches, else the tenant's default flow (not for a comment); after a flow ended, keyword triggers, then the
default flow (whose `step` answers from the FAQ first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from flows.engine import MESSAGE_KINDS, keyword_entry
from flows.handoff import asks_for_human
from flows.select import choose_flow
from flows.turn import TurnEvent
from webapp.extensions import db
from webapp.models import Conversation, Flow, FlowVersion, Tenant
from webapp.services.flows import compiled_by_id
from webapp.services.handoff_settings import of_tenant

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
    question, flows.engine.step): it is routed by the published flows' comment triggers, never by the pin.

    Precedence, the same everywhere (flows/engine.py): a request for a person (the pinned flow's engine
    hands off, even when another flow has the phrase as a keyword), then keyword triggers — another
    published flow's keyword trigger comes before the running flow's pending question — then the running
    flow. After a flow ended: a keyword trigger, else the default flow, else the
    conversation's own flow, else any flow that matches; `step` then answers from the FAQ before it starts
    a flow (and does not restart a completed form by itself). The reason goes into the trace."""
    state = conv.state or {}
    typed = tevent.kind in MESSAGE_KINDS
    if tevent.kind != "comment" and conv.flow_version_id and state and not state.get("finished"):
        pinned = compiled_by_id(conv.flow_version_id)
        if pinned is not None:
            version, flow = pinned
            if typed and asks_for_human(tevent.text or "", of_tenant(tenant).keywords):
                return version, flow, (f"the customer asked for a person: the pinned version {version.number} "
                                       f"of flow {version.flow_id} hands off, its question stays pending")
            if typed:
                switched = _keyword_flow(tenant, tevent, skip_flow=version.flow_id)
                if switched is not None:
                    other, other_flow, reason = switched
                    return other, other_flow, (f"a keyword trigger comes before the pending question of flow "
                                               f"{version.flow_id}: {reason}")
            return version, flow, f"continuing on pinned version {version.number} of flow {version.flow_id}"
    published = published_flows(tenant.id)
    compiled = {fid: compiled_by_id(vid) for fid, vid in published}
    candidates = [(fid, pair[1]) for fid, pair in compiled.items() if pair is not None]
    default = tenant.default_flow_id if tenant.default_flow_id in compiled else None
    if typed and state.get("finished") and conv.flow_id is not None:
        switched = _keyword_flow(tenant, tevent)
        if switched is not None:
            version, flow, reason = switched
            return version, flow, f"after the flow ended: {reason}"
        after = default if default is not None else (conv.flow_id if compiled.get(conv.flow_id) else None)
        if after is not None:
            version, flow = compiled[after]  # type: ignore[misc]
            which = "the default flow" if after == default else "the conversation's flow"
            return version, flow, (f"after the flow ended: no keyword trigger matched; {which} "
                                   f"{version.flow_id} answers (an FAQ answer first)")
    key, reason = choose_flow(candidates, tevent, default)
    if key is None or compiled.get(key) is None:
        return None
    version, flow = compiled[key]  # type: ignore[misc]
    return version, flow, reason


def _keyword_flow(tenant: Tenant, tevent: TurnEvent, skip_flow: int | None = None
                  ) -> tuple[FlowVersion, Any, str] | None:
    """The first published flow (the tenant's order) with a keyword trigger that matches a typed message;
    catch-all triggers do not count (the running flow's own keyword triggers are the engine's to check)."""
    for fid, vid in published_flows(tenant.id):
        pair = compiled_by_id(vid) if fid != skip_flow else None
        hit = keyword_entry(pair[1], tevent) if pair is not None else None
        if pair is not None and hit is not None:
            name = pair[1].name or str(fid)
            return pair[0], pair[1], f"flow '{name}' (trigger '{hit[0]}'): {hit[1]}"
    return None
