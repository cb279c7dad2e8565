"""Turn a flow document into problems and, when it has no errors, a compiled `Flow`.

Validation and compilation are one pass so the checks the editor shows are exactly the ones that decide
whether a version can run. The compiled `Flow` is built once per published version and cached by the
caller: per-turn work is then dict lookups only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from marshmallow import Schema, ValidationError

from flows import registry
from flows.errors import Problem, error, warning
from flows.graph import endless_loops, reachable
from flows.nodes.base import Node
from flows.nodes.form import allowed_channels, form_fields
from flows.schema import SCHEMA_VERSION, humanize, parse
from flows.templating import is_builtin


@dataclass(frozen=True, slots=True)
class Flow:
    """A compiled, read-only flow version: node instances and `next[node_id][port] -> node_id`."""

    name: str
    nodes: Mapping[str, Node]
    next: Mapping[str, Mapping[str, str]]
    triggers: tuple[str, ...]
    warnings: tuple[Problem, ...]
    fingerprint: str
    schema_version: int = SCHEMA_VERSION
    #: The triggers a comment may start a run at (see `entries`).
    comment_triggers: tuple[str, ...] = ()
    #: After a run of this flow that asked questions has ended, a message starts it again only once this
    #: many minutes have passed (None: never by itself; 0: always). See `engine.step`.
    restart_after_minutes: int | None = None

    @property
    def uses(self) -> frozenset[str]:
        """Slow services any node of this flow may call (see Node.uses)."""
        return frozenset().union(*(node.uses for node in self.nodes.values()))

    def entries(self, kind: str) -> tuple[str, ...]:
        """The triggers a new run for an event of `kind` may start at, in document order.

        Comments and messages are different entry points: a comment is answered in public and with one
        private reply, which only a `comment_reply` node can send, so a comment enters only at a trigger
        that names the `comment` kind, or at a catch-all trigger (no kinds) from which a `comment_reply`
        node is reached in the same turn. A DM flow's catch-all trigger therefore never restarts a
        conversation because its person commented on a post.
        """
        return self.comment_triggers if kind == "comment" else self.triggers

    def target(self, node_id: str, port: str) -> str | None:
        """The node an edge from `node_id`'s `port` leads to, or None (the flow ends there)."""
        ports = self.next.get(node_id)
        return ports.get(port) if ports else None


_SCHEMAS: dict[type[Schema], Schema] = {}


def _schema(cls: type[Node]) -> Schema:
    schema = _SCHEMAS.get(cls.schema)
    if schema is None:
        schema = _SCHEMAS[cls.schema] = cls.schema()
    return schema


def _build_nodes(raw_nodes: list[dict[str, Any]], problems: list[Problem]) -> dict[str, Node | None]:
    """Instantiate every node; a node with bad data maps to None so later checks skip its ports."""
    nodes: dict[str, Node | None] = {}
    for raw in raw_nodes:
        node_id, type_name = raw["id"], raw["type"]
        if node_id in nodes:
            problems.append(error(node_id, "duplicate_node_id", f"Two nodes have the id '{node_id}'."))
            continue
        cls = registry.get(type_name)
        if cls is None:
            problems.append(
                error(node_id, "unknown_node_type", f"Node '{node_id}' has unknown type '{type_name}'.")
            )
            nodes[node_id] = None
            continue
        try:
            data = _schema(cls).load(raw.get("data") or {})
            nodes[node_id] = cls(node_id, data)
        except ValidationError as exc:
            labels = {f["name"]: f["label"] for f in form_fields(cls.schema)}
            for text in humanize(exc.messages, labels=labels):
                problems.append(error(node_id, "bad_data", f"{cls.label} '{node_id}': {text.rstrip('.')}."))
            nodes[node_id] = None
        except (ValueError, TypeError) as exc:
            problems.append(error(node_id, "bad_data", f"{cls.label} '{node_id}': {str(exc).rstrip('.')}."))
            nodes[node_id] = None
    return nodes


def _link_edges(
    raw_edges: list[dict[str, Any]], nodes: dict[str, Node | None], problems: list[Problem]
) -> dict[str, dict[str, str]]:
    links: dict[str, dict[str, str]] = {}
    seen_ids: set[str] = set()
    for index, edge in enumerate(raw_edges):
        edge_id = edge.get("id") or f"#{index + 1}"
        source, target, port = edge["source"], edge["target"], edge.get("sourceHandle")
        if edge_id in seen_ids:
            problems.append(error(source, "duplicate_edge_id", f"Two edges have the id '{edge_id}'."))
        seen_ids.add(edge_id)
        if source not in nodes or target not in nodes:
            missing = source if source not in nodes else target
            problems.append(
                error(
                    source if source in nodes else None,
                    "dangling_edge",
                    f"Edge '{edge_id}' points to missing node '{missing}'.",
                )
            )
            continue
        node = nodes[source]
        if node is None:  # its data is invalid (already reported); keep the edge for reachability only
            links.setdefault(source, {})[port or f"#{index}"] = target
            continue
        ports = node.output_ports()
        if port is None:
            if len(ports) != 1:
                problems.append(
                    error(
                        source,
                        "missing_port",
                        f"Edge '{edge_id}' from '{source}' must say which "
                        f"output it leaves from ({', '.join(ports) or 'none'}).",
                    )
                )
                continue
            port = ports[0]
        if port not in ports:
            allowed = ", ".join(ports) if ports else "it has no outputs"
            problems.append(
                error(
                    source,
                    "unknown_port",
                    f"Edge '{edge_id}' leaves '{source}' from output "
                    f"'{port}', which {node.type} does not have ({allowed}).",
                )
            )
            continue
        node_links = links.setdefault(source, {})
        if port in node_links:
            problems.append(
                error(
                    source,
                    "duplicate_output",
                    f"Output '{port}' of '{source}' has two edges "
                    f"(to '{node_links[port]}' and '{target}'); keep one.",
                )
            )
            continue
        node_links[port] = target
    return links


def _check_graph(
    nodes: dict[str, Node | None], links: dict[str, dict[str, str]], problems: list[Problem]
) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    good = {k: v for k, v in nodes.items() if v is not None}
    successors: dict[str, list[str]] = {}
    for node_id, node in good.items():
        targets = list(links.get(node_id, {}).values())
        for target in node.jump_targets():
            if target not in nodes:
                problems.append(
                    error(node_id, "dangling_goto", f"'{node_id}' jumps to missing node '{target}'.")
                )
            else:
                targets.append(target)
        successors[node_id] = targets
    for node_id in nodes.keys() - good.keys():  # invalid nodes still lead somewhere: no false "unreachable"
        successors[node_id] = list(links.get(node_id, {}).values())
    triggers = tuple(k for k, v in good.items() if v.type == "trigger")
    if not triggers and not any(v is None for v in nodes.values()):
        problems.append(
            error(None, "missing_trigger", "The flow has no trigger node, so nothing can start it.")
        )
    if triggers:
        seen = reachable(triggers, successors)
        for node_id in nodes:
            if node_id not in seen:
                problems.append(
                    warning(node_id, "unreachable", f"Node '{node_id}' can never be reached from a trigger.")
                )
    waiting = {k for k, v in good.items() if v.waits}
    for loop in endless_loops(successors, waiting):
        first = loop[0]
        problems.append(
            error(
                first,
                "endless_loop",
                "These nodes loop with no node that waits for the customer, "
                f"so the bot would spin forever: {' → '.join(loop)}.",
            )
        )
    return triggers, successors


def _comment_triggers(
    triggers: tuple[str, ...], nodes: dict[str, Node | None], successors: dict[str, list[str]]
) -> tuple[str, ...]:
    """Triggers that accept comments (`Flow.entries`): the `comment` kind named, or no kinds and a
    `comment_reply` reachable without passing a node that waits (after a wait the event is no comment)."""
    good = {k: v for k, v in nodes.items() if v is not None}
    through = {k: [] if v.waits else successors.get(k, []) for k, v in good.items()}
    accepted = []
    for trigger_id in triggers:
        kinds = good[trigger_id].data.get("kinds") or []
        if "comment" in kinds or (
            not kinds
            and any(n in good and good[n].type == "comment_reply" for n in reachable([trigger_id], through))
        ):
            accepted.append(trigger_id)
    return tuple(accepted)


def _check_variables(nodes: dict[str, Node | None], problems: list[Problem]) -> None:
    good = [v for v in nodes.values() if v is not None]
    written: set[str] = set()
    for node in good:
        written.update(node.writes())
    for node in good:
        for path in sorted(node.reads()):
            root = path.split(".", 1)[0]
            if is_builtin(path) or root in written or path in written:
                continue
            problems.append(
                warning(
                    node.id,
                    "unset_variable",
                    f"'{node.id}' uses variable '{path}', which no node sets; it will be empty.",
                )
            )


def compile_document(
    document: Any, channels: Collection[str] | None = None
) -> tuple[Flow | None, list[Problem]]:
    """Validate `document`; return the compiled Flow (None if there are errors) and all problems.

    `channels`: the channel names node data may name (None: any)."""
    doc, envelope_errors = parse(document)
    if doc is None:
        return None, [error(None, "bad_document", f"Flow document: {m}.") for m in envelope_errors]
    problems: list[Problem] = []
    with allowed_channels(channels):
        nodes = _build_nodes(doc["nodes"], problems)
    links = _link_edges(doc["edges"], nodes, problems)
    triggers, successors = _check_graph(nodes, links, problems)
    _check_variables(nodes, problems)
    problems.sort(key=lambda p: p.severity != "error")
    if any(p.severity == "error" for p in problems):
        return None, problems
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, default=str)
    flow = Flow(
        name=doc.get("name") or "",
        nodes=MappingProxyType({k: v for k, v in nodes.items() if v is not None}),
        next=MappingProxyType({k: MappingProxyType(v) for k, v in links.items()}),
        triggers=triggers,
        comment_triggers=_comment_triggers(triggers, nodes, successors),
        warnings=tuple(problems),
        fingerprint=hashlib.sha256(canonical.encode()).hexdigest()[:16],
        restart_after_minutes=doc.get("restart_after_minutes"),
    )
    return flow, problems
