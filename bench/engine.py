"""Benchmark: engine turns/second on a 50-node flow vs. a plain dict-walk baseline (same run).

    .venv/bin/python bench/engine.py [conversations]

The flow is compiled once (as the pipeline does per published version); each conversation is 3 turns
(greeting, name, phone). The baseline walks the same graph as plain dicts with str.replace templating, so
the difference is the engine's own per-turn overhead (state copy, registry-free dispatch, tracing).
Target: overhead < 0.5 ms per turn.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows import load_flow  # noqa: E402
from flows.engine import step  # noqa: E402
from flows.services import offline_services  # noqa: E402
from flows.turn import TurnEvent  # noqa: E402

TURNS = ["hello", "Anna", "+1 202 555 0143"]


def build_document(size: int = 50) -> dict[str, Any]:
    """trigger → message/set_variable/condition filler → ask name → filler → ask phone → filler → lead."""
    nodes: list[dict[str, Any]] = [{"id": "n0", "type": "trigger", "data": {}}]
    edges: list[dict[str, Any]] = []
    asks = {size // 3: ("name", "name"), 2 * size // 3: ("phone", "phone")}
    for i in range(1, size):
        if i in asks:
            var, kind = asks[i]
            node = {"type": "ask", "data": {"text": f"Your {var}?", "variable": var, "validate": kind}}
            port = "ok"
        elif i == size - 1:
            node, port = {"type": "lead", "data": {"required": ["name", "phone"]}}, "saved"
        elif i % 5 == 0:
            rule = {"id": "yes", "kind": "keywords", "keywords": ["price"]}
            node, port = {"type": "condition", "data": {"rules": [rule]}}, "else"
        elif i % 3 == 0:
            node, port = {"type": "set_variable", "data": {"values": {f"v{i}": "step {{channel}}"}}}, "out"
        else:
            node, port = {"type": "message", "data": {"text": f"Step {i} for {{{{username}}}}"}}, "out"
        nodes.append({"id": f"n{i}", **node})
        prev = nodes[i - 1]
        prev_port = prev.get("_port", "out")
        edges.append({"id": f"e{i}", "source": prev["id"], "sourceHandle": prev_port, "target": f"n{i}"})
        nodes[i]["_port"] = port
    for node in nodes:
        node.pop("_port", None)
        node["position"] = {"x": 0, "y": 0}
    return {"schema_version": 1, "name": "bench", "nodes": nodes, "edges": edges}


def baseline_graph(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    nxt = {e["source"]: e["target"] for e in document["edges"]}
    return {n["id"]: {"type": n["type"], "data": n["data"], "next": nxt.get(n["id"])} for n in document["nodes"]}


def baseline_turn(graph: dict[str, dict[str, Any]], state: dict[str, Any], text: str) -> list[str]:
    """The minimum any interpreter does: follow next pointers, fill templates, stop at a question."""
    out: list[str] = []
    node_id = state.get("node")
    if node_id is not None:
        state["vars"][graph[node_id]["data"]["variable"]] = text
        node_id = graph[node_id]["next"]
    else:
        node_id = "n0"
    while node_id is not None:
        node = graph[node_id]
        if node["type"] in ("message", "ask"):
            out.append(node["data"]["text"].replace("{{username}}", "bench"))
        if node["type"] == "ask":
            state["node"] = node_id
            return out
        node_id = node["next"]
    state["node"] = None
    return out


def main() -> None:
    conversations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    document = build_document()
    started = time.perf_counter()
    flow = load_flow(document)
    load_ms = (time.perf_counter() - started) * 1000
    services = offline_services()
    events = [TurnEvent("dm", "test", t, {}, {"username": "bench"}) for t in TURNS]

    def run_engine() -> None:
        state = None
        for ev in events:
            state = step(flow, state, ev, services).state

    graph = baseline_graph(document)

    def run_baseline() -> None:
        state: dict[str, Any] = {"node": None, "vars": {}}
        for text in TURNS:
            baseline_turn(graph, state, text)

    state = None
    for ev in events:
        check = step(flow, state, ev, services)
        state = check.state
    assert check.finished and check.effects[0].type == "lead", "bench flow broken"

    results = {}
    for name, fn in (("engine", run_engine), ("baseline", run_baseline)):
        for _ in range(50):
            fn()  # warm-up
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(conversations):
                fn()
            best = min(best, time.perf_counter() - t0)
        results[name] = best / (conversations * len(TURNS))
    engine, baseline = results["engine"], results["baseline"]
    print(f"flow: {len(document['nodes'])} nodes, {len(TURNS)} turns/conversation, {conversations} conversations")
    print(f"load_flow (once per version): {load_ms:.2f} ms")
    print(f"engine:   {1 / engine:,.0f} turns/s  ({engine * 1000:.4f} ms/turn)")
    print(f"baseline: {1 / baseline:,.0f} turns/s  ({baseline * 1000:.4f} ms/turn)")
    print(f"per-turn overhead vs baseline: {(engine - baseline) * 1000:.4f} ms (target < 0.5 ms)")
    print(f"ratio engine/baseline: {engine / baseline:.1f}x")


if __name__ == "__main__":
    main()
