"""Small builders shared by the flow tests (documents, events, multi-turn runs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flows import load_flow
from flows.compiler import Flow
from flows.engine import step
from flows.services import Services, offline_services
from flows.turn import StepResult, TurnEvent
from tests.helpers.catalog import gettext

NodeSpec = tuple[str, str, dict[str, Any]]
EdgeSpec = tuple[str, str | None, str]


def doc(nodes: list[NodeSpec], edges: list[EdgeSpec], *, version: int = 1) -> dict[str, Any]:
    """A flow document from (id, type, data) nodes and (source, port, target) edges."""
    return {
        "schema_version": version,
        "name": "test",
        "nodes": [
            {"id": i, "type": t, "position": {"x": n * 100, "y": 0}, "data": d} for n, (i, t, d) in enumerate(nodes)
        ],
        "edges": [{"id": f"e{n}", "source": s, "sourceHandle": p, "target": t} for n, (s, p, t) in enumerate(edges)],
    }


def linear(*nodes: NodeSpec) -> dict[str, Any]:
    """Trigger → nodes in order, each connected from its first output port."""
    from flows import registry

    all_nodes: list[NodeSpec] = [("start", "trigger", {}), *nodes]
    edges: list[EdgeSpec] = []
    for (src, src_type, _), (dst, _, _) in zip(all_nodes, all_nodes[1:], strict=False):
        ports = registry.get(src_type).ports  # type: ignore[union-attr]
        edges.append((src, ports[0] if ports else None, dst))
    return doc(all_nodes, edges)


def event(text: str = "", kind: str = "dm", channel: str = "test", **meta: Any) -> TurnEvent:
    return TurnEvent(kind, channel, text, meta, {"username": "ann_k"}, datetime(2026, 1, 5, 12, tzinfo=UTC))  # type: ignore[arg-type]


def services(**kwargs: Any) -> Services:
    """Offline services; with a `language`, the engine's texts come from that language's catalog as in a real
    turn."""
    if "language" in kwargs:
        kwargs.setdefault("translate", gettext(kwargs["language"]))
    return offline_services(**kwargs)


def talk(
    flow: Flow | dict[str, Any],
    texts: list[str],
    svc: Services | None = None,
    state: dict[str, Any] | None = None,
    kind: str = "dm",
    channel: str = "test",
) -> list[StepResult]:
    """Run one step per text, carrying the state through a JSON-like copy each time."""
    import json

    compiled = flow if isinstance(flow, Flow) else load_flow(flow)
    svc = svc or services()
    results = []
    for text in texts:
        result = step(compiled, state, event(text, kind, channel), svc)
        state = json.loads(json.dumps(result.state))
        results.append(result)
    return results


def texts(result: StepResult) -> list[str]:
    return [m.text for m in result.outbound]
