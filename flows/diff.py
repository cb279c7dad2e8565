"""Node-level diff of two flow documents (for the version history view)."""

from __future__ import annotations

from typing import Any


def _index(document: dict[str, Any]) -> tuple[dict[str, dict], dict[str, list[tuple]]]:
    nodes = {n["id"]: n for n in document.get("nodes") or [] if isinstance(n, dict) and "id" in n}
    edges: dict[str, list[tuple]] = {}
    for edge in document.get("edges") or []:
        if isinstance(edge, dict):
            key = (edge.get("sourceHandle"), edge.get("target"))
            edges.setdefault(str(edge.get("source")), []).append(key)
    return nodes, {k: sorted(v, key=repr) for k, v in edges.items()}


def diff_documents(a: dict[str, Any], b: dict[str, Any]) -> dict[str, list]:
    """What changed from `a` to `b`: added/removed node ids and, per changed node, which data keys,
    "type", "position" or "edges" (its outgoing edges) differ. Ids are sorted for stable output."""
    nodes_a, edges_a = _index(a)
    nodes_b, edges_b = _index(b)
    changed = []
    for node_id in sorted(nodes_a.keys() & nodes_b.keys()):
        old, new = nodes_a[node_id], nodes_b[node_id]
        fields: list[str] = []
        if old.get("type") != new.get("type"):
            fields.append("type")
        data_a, data_b = old.get("data") or {}, new.get("data") or {}
        fields.extend(sorted(k for k in data_a.keys() | data_b.keys() if data_a.get(k) != data_b.get(k)))
        if (old.get("position") or {}) != (new.get("position") or {}):
            fields.append("position")
        if edges_a.get(node_id, []) != edges_b.get(node_id, []):
            fields.append("edges")
        if fields:
            changed.append({"id": node_id, "fields": fields})
    return {
        "added": sorted(nodes_b.keys() - nodes_a.keys()),
        "removed": sorted(nodes_a.keys() - nodes_b.keys()),
        "changed": changed,
    }
