"""Connector registry: channel type name → connector instance.

Channel modules register themselves with ``@register``; lookups import the built-in channel modules
lazily, so callers only ever write ``get_connector(channel.type)`` and never branch on the type.
"""

from __future__ import annotations

import importlib
from typing import TypeVar

from connectors.channels.base import Connector

BUILTIN_MODULES: tuple[str, ...] = (
    "connectors.channels.instagram",
    "connectors.channels.whatsapp",
    "connectors.channels.telegram",
    "connectors.channels.webchat",
)

_REGISTRY: dict[str, Connector] = {}
_loaded = False

C = TypeVar("C", bound=type)


class UnknownConnectorError(KeyError):
    """No connector is registered under that type name."""


def register(cls: C) -> C:
    """Class decorator: instantiate the (stateless) connector and file it under ``cls.type``."""
    type_name = getattr(cls, "type", None)
    if not type_name:
        raise ValueError(f"{cls.__name__} must define a non-empty 'type'")
    existing = _REGISTRY.get(type_name)
    if existing is not None and type(existing).__qualname__ != cls.__qualname__:
        raise ValueError(f"connector type {type_name!r} is already registered by {type(existing).__name__}")
    _REGISTRY[type_name] = cls()
    return cls


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
        _loaded = True


def get_connector(type_name: str) -> Connector:
    """The connector for a channel type; raises UnknownConnectorError for an unknown type."""
    _load_builtins()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise UnknownConnectorError(type_name) from None


def connector_types() -> list[str]:
    """Registered type names, sorted (for forms, CLI choices and validation)."""
    _load_builtins()
    return sorted(_REGISTRY)


def all_connectors() -> list[Connector]:
    """Every registered connector (e.g. to find the Meta connector for a webhook ``object``)."""
    _load_builtins()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
