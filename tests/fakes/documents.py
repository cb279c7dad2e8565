"""Flow documents for tests and benchmarks, written as (id, type, data) nodes and (source, port, target)
edges."""

from __future__ import annotations

from typing import Any


def document(name: str, nodes: list[tuple[str, str, dict[str, Any]]],
             edges: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"schema_version": 1, "name": name,
            "nodes": [{"id": i, "type": t, "position": {"x": 200 * n, "y": 0}, "data": d}
                      for n, (i, t, d) in enumerate(nodes)],
            "edges": [{"id": f"e{n}", "source": s, "sourceHandle": p, "target": t}
                      for n, (s, p, t) in enumerate(edges)]}


def llm_answer_flow(name: str = "AI answers") -> dict[str, Any]:
    """trigger → llm → end: every message is answered by the model (or its FAQ fallback)."""
    return document(name, [("start", "trigger", {"channels": ["any"]}),
                           ("ai", "llm", {"prompt": "Answer the customer's question briefly."}),
                           ("done", "end", {})],
                    [("start", "out", "ai"), ("ai", "ok", "done"), ("ai", "fallback", "done")])
