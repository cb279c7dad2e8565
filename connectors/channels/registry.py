"""The one list of channels: channel type name → connector instance, and what each type declares.

Channel modules register their connector class with ``@register``; the registry finds them by importing
every module of ``connectors/channels`` the first time it is asked (no module list to keep in step), so a
new channel is one new module. Everything else asks here: forms, the CLI, the simulator and the flows'
channel list (:func:`channel_choices`), text limits (:func:`text_limit`), the Meta webhook dispatch
(:func:`meta_connector`), what connecting a channel asks for (``get_connector(t).needs``). Callers write
``get_connector(channel.type)`` and never branch on the type.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any, TypeVar

from connectors.channels.base import MAX_TYPE_NAME, Connector

_REGISTRY: dict[str, Connector] = {}
_loaded = False
# Two locks on purpose: discovery holds its lock while it imports modules, and a module being imported
# by another thread at that moment registers under the other one; with a single lock that thread would
# wait for discovery while discovery waits for its module (a deadlock Python's import locks cannot see).
_discover_lock = threading.Lock()
_register_lock = threading.Lock()

C = TypeVar("C", bound=type)


class UnknownConnectorError(KeyError):
    """No connector is registered under that type name."""


def _check(cls: type) -> str:
    """The declaration's type name, or ValueError naming what the class left out."""
    type_name = getattr(cls, "type", None)
    if not type_name or not isinstance(type_name, str):
        raise ValueError(f"{cls.__name__} must define a non-empty 'type'")
    if len(type_name) > MAX_TYPE_NAME:
        raise ValueError(f"{cls.__name__}.type {type_name!r} is longer than {MAX_TYPE_NAME} characters "
                         "(channels.type cannot store it)")
    for attr in ("label", "webhook_path"):
        if not getattr(cls, attr, None):
            raise ValueError(f"{cls.__name__} must declare '{attr}'")
    if not isinstance(getattr(cls, "max_text_length", None), int) or cls.max_text_length <= 0:  # type: ignore[attr-defined]
        raise ValueError(f"{cls.__name__} must declare a positive 'max_text_length'")
    meta_object = getattr(cls, "meta_object", None)
    if meta_object:
        for other in _REGISTRY.values():
            if other.meta_object == meta_object and other.type != type_name:
                raise ValueError(f"Meta object {meta_object!r} is already parsed by {type(other).__name__}")
    return type_name


def register(cls: C) -> C:
    """Class decorator: check the declaration, instantiate the (stateless) connector and file it under
    ``cls.type``. Re-registering the same class (a module imported twice) is harmless; a second class
    claiming a taken type name or Meta object is refused."""
    with _register_lock:
        type_name = _check(cls)
        existing = _REGISTRY.get(type_name)
        if existing is not None and type(existing).__qualname__ != cls.__qualname__:
            raise ValueError(f"connector type {type_name!r} is already registered by {type(existing).__name__}")
        _REGISTRY[type_name] = cls()
    return cls


def unregister(type_name: str) -> None:
    """Forget a type (tests that register a fake channel clean up with this)."""
    with _register_lock:
        _REGISTRY.pop(type_name, None)


def _discover() -> None:
    """Import every module of this package once: the channel modules register themselves on import.

    Modules whose name starts with ``_`` are skipped (private helpers). Importing the shared modules
    (base, meta, http...) registers nothing and costs nothing more: every channel imports them anyway.
    """
    global _loaded
    if _loaded:
        return
    with _discover_lock:
        if _loaded:
            return
        package = importlib.import_module("connectors.channels")
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if not info.ispkg and not info.name.rpartition(".")[2].startswith("_"):
                importlib.import_module(info.name)
        _loaded = True


def _snapshot() -> dict[str, Connector]:
    """A copy to iterate (a test may register a fake channel from another thread meanwhile)."""
    _discover()
    return _REGISTRY.copy()


def get_connector(type_name: str) -> Connector:
    """The connector for a channel type; raises UnknownConnectorError for an unknown type."""
    _discover()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise UnknownConnectorError(type_name) from None


def connector_types() -> list[str]:
    """Registered type names, sorted (CLI choices, validation)."""
    return sorted(_snapshot())


def all_connectors() -> list[Connector]:
    """Every registered connector, sorted by type name."""
    return [connector for _name, connector in sorted(_snapshot().items())]


def channel_choices() -> list[tuple[str, str]]:
    """(type, label) of every channel, sorted by type; labels untranslated (the webapp translates them
    when it shows them: they are marked with ``N_`` where they are declared)."""
    return [(c.type, c.label) for c in all_connectors()]


def _declared(type_name: str, name: str, default: Any) -> Any:
    """One declaration of a channel type, or `default` for a type nobody registered (the simulator's
    `test` channel)."""
    _discover()
    connector = _REGISTRY.get(type_name)
    return getattr(connector, name) if connector is not None else default


def text_limit(type_name: str) -> int | None:
    """The longest text one message of that channel takes."""
    return _declared(type_name, "max_text_length", None)


def message_kind(type_name: str) -> str:
    """The event kind a message on that channel arrives as."""
    return _declared(type_name, "message_kind", "message")


def prompt_style(type_name: str) -> tuple[str, int] | None:
    """Where the bot writes on that channel, as the model is told, and the reply length to aim for."""
    return _declared(type_name, "prompt_style", None)


def meta_connector(meta_object: str) -> Connector | None:
    """The connector that parses Meta webhook bodies with that ``object`` (None: not one of ours)."""
    for connector in _snapshot().values():
        if connector.meta_object and connector.meta_object == meta_object:
            return connector
    return None
