"""Node types registered by type name (the Node-RED `registerType` pattern).

The engine, the validator and the editor palette all look node types up here; adding a node type is one
new file in `flows/nodes/` with `@register` on its class, and nothing else changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from flows.nodes.base import Node

N = TypeVar("N", bound="type[Node]")

_TYPES: dict[str, type[Node]] = {}


def register(cls: N) -> N:
    """Class decorator: make `cls` available under `cls.type`; a duplicate name is a programming error."""
    name = cls.type
    if name in _TYPES and _TYPES[name] is not cls:
        raise ValueError(f"node type {name!r} registered twice")
    _TYPES[name] = cls
    return cls


def _ensure_loaded() -> None:
    if not _TYPES:
        import flows.nodes  # noqa: F401  (importing the package registers every node module)


def get(name: str) -> type[Node] | None:
    """The class registered as `name`, or None."""
    _ensure_loaded()
    return _TYPES.get(name)


def all_types() -> list[type[Node]]:
    """Every registered node class, in registration order."""
    _ensure_loaded()
    return list(_TYPES.values())
