"""Node types by type name (the Node-RED `registerType` pattern), discovered rather than listed.

The engine, the validator and the editor palette all look node types up here. Every module in
`flows/nodes/` is imported once, on the first lookup, and each `Node` subclass it defines with a `type` is
registered under that name: adding a node type is one new file there, and nothing else changes. Node
modules never import this one, so the registry depends on the nodes and not the other way round.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

import flows.nodes
from flows.nodes.base import Node


def discover(package: str) -> dict[str, type[Node]]:
    """The node classes defined in the modules of `package`, by type name, in module-name order.

    A type name defined twice is a programming error (two files would silently fight over it)."""
    found: dict[str, type[Node]] = {}
    path = importlib.import_module(package).__path__
    for info in pkgutil.iter_modules(path, f"{package}."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if not (isinstance(value, type) and issubclass(value, Node) and value.__module__ == module.__name__):
                continue
            name = vars(value).get("type")
            if not isinstance(name, str):
                continue  # an abstract helper class: no type of its own
            if name in found:
                raise ValueError(f"node type {name!r} is defined twice: {found[name].__module__}, {module.__name__}")
            found[name] = value
    return found


@functools.cache
def _types() -> dict[str, type[Node]]:
    return discover(flows.nodes.__name__)


def get(name: str) -> type[Node] | None:
    """The class registered as `name`, or None."""
    return _types().get(name)


def all_types() -> list[type[Node]]:
    """Every node class, in module-name order."""
    return list(_types().values())
