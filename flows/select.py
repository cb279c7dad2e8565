"""Which flow answers an event that does not belong to a running conversation."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from flows.compiler import Flow
from flows.turn import TurnEvent


def choose_flow(
    candidates: Sequence[tuple[Hashable, Flow]], event: TurnEvent, default_key: Hashable | None
) -> tuple[Hashable | None, str]:
    """Pick the flow to start: keyword triggers first (most specific, in the tenant's order), then
    catch-all triggers — the default flow's first when it has one that matches ("Make default" must put a
    flow in front even when several published flows accept any text), then the others in order — else
    `default_key`. Returns (key or None, human reason for the trace).

    A comment only starts a flow at a trigger that accepts comments (`Flow.entries`) and never falls
    back to the default flow: a flow that cannot answer a comment would only restart the person's
    conversation without sending anything."""
    if event.kind in ("timeout", "handback"):
        return None, f"a {event.kind} event never starts a new conversation"
    default_first = sorted(candidates, key=lambda candidate: candidate[0] != default_key)
    for want_keywords, ordered in ((True, candidates), (False, default_first)):
        for key, flow in ordered:
            for trigger_id in flow.entries(event.kind):
                trigger = flow.nodes[trigger_id]
                if trigger.has_keywords != want_keywords:  # type: ignore[attr-defined]
                    continue
                ok, reason = trigger.matches(event)  # type: ignore[attr-defined]
                if ok:
                    name = flow.name or str(key)
                    return key, f"flow '{name}' (trigger '{trigger_id}'): {reason}"
    if event.kind == "comment":
        return None, "no published flow has a trigger that accepts this comment"
    if default_key is not None:
        return default_key, "no flow's trigger matched; using the default flow"
    return None, "no flow's trigger matched and there is no default flow"
