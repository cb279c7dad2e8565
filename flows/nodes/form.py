"""A node type's inspector form, read off its `data` schema: the schema is the one declaration.

Each marshmallow field of a node's schema carries its form metadata (`form(N_("Question"), "textarea",
help=N_(...))`); the widget kind, `required`, the default and a select's choices are taken from the field
itself (its type, `required`, `load_default`, its `OneOf` validator), so validation and the editor's form
cannot disagree. `docs/flow-format.md`'s field tables are generated from the same forms (`flows.reference`).

Texts are English and marked with `N_` so `pybabel extract` finds them in the node modules; whoever shows
them translates them (`node_types(translate=gettext)`). Channel names are not known here: a `ChannelName`
field offers and accepts whatever channel list the caller passes in.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict

from marshmallow import Schema, fields, missing, validate
from marshmallow.experimental.context import Context

from flows.i18n import N_ as N_  # re-exported: node modules mark their texts with it
from flows.i18n import Translate as Translate

#: The widget kinds the editor knows (webapp/editor/ui/src/lib/fields.js).
KINDS = ("text", "textarea", "select", "multiselect", "number", "bool", "list", "keyvalue", "json")

#: (value, label) pairs, as the editor's selects take them.
Choices = Sequence[tuple[str, str]]


def form(
    label: str,
    kind: str | None = None,
    *,
    help: str = "",
    default: Any = missing,
    choices: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A field's inspector metadata: `fields.String(..., metadata=form(N_("Question"), "textarea"))`.

    `kind` is needed only where the field's type does not say it (a `textarea`, a text field with
    `OneOf`); `default` only where a new node should start with something other than the load default
    (e.g. a required field's sample value).
    """
    meta: dict[str, Any] = {"label": label, "help": help}
    if kind is not None:
        meta["kind"] = kind
    if default is not missing:
        meta["default"] = default
    if choices is not None:
        meta["choices"] = list(choices)
    return meta


#: Fields every node schema has but the editor keeps for itself (its own label and note on the card).
HIDDEN: dict[str, Any] = {"form": False}


class _ValidationContext(TypedDict):
    channels: frozenset[str] | None


_CONTEXT = Context[_ValidationContext]


@contextmanager
def allowed_channels(channels: Collection[str] | None) -> Iterator[None]:
    """Within the block, `ChannelName` fields accept only `channels` (None: any name, as when a stored
    version is loaded to run: a channel taken out of the list must not stop flows published before)."""
    with _CONTEXT({"channels": None if channels is None else frozenset(channels)}):
        yield


class ChannelName(fields.String):
    """A channel type name. The allowed names are the caller's (`validate(document, channels=...)`), as are
    the form's choices (`node_types(channels=...)`); `extra` pairs (the trigger's "any") are always allowed."""

    def __init__(self, *, extra: Choices = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extra = tuple(extra)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        channels = _CONTEXT.get({"channels": None})["channels"]
        if channels is not None and name not in channels and name not in {v for v, _ in self.extra}:
            validate.OneOf([v for v, _ in self.extra] + sorted(channels))(name)
        return name


def _one_of(field: fields.Field) -> list[str] | None:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)
    return None


def _kind(field: fields.Field) -> str:
    """The widget a field's type implies (`form(kind=...)` overrides it)."""
    if isinstance(field, fields.Boolean):
        return "bool"
    if isinstance(field, fields.Number):
        return "number"
    if isinstance(field, ChannelName) or (isinstance(field, fields.String) and _one_of(field) is not None):
        return "select"
    if isinstance(field, fields.String):
        return "text"
    if isinstance(field, fields.List):
        inner = field.inner
        if isinstance(inner, fields.Nested):
            return "json"
        if isinstance(inner, ChannelName) or _one_of(inner) is not None:
            return "multiselect"
        return "list"
    if isinstance(field, fields.Dict):
        return "keyvalue"
    return "json"


def _default(field: fields.Field) -> Any:
    if "default" in field.metadata:
        return copy.deepcopy(field.metadata["default"])
    value = field.load_default
    if value is missing:
        return None
    return value() if callable(value) else copy.deepcopy(value)


def _choices(field: fields.Field, channels: Choices | None, translate: Translate) -> list[Any] | None:
    if "choices" in field.metadata:
        return list(field.metadata["choices"])
    target = field.inner if isinstance(field, fields.List) else field
    if isinstance(target, ChannelName):
        extra = [[value, translate(label)] for value, label in target.extra]
        return extra + [[value, label] for value, label in channels or ()]
    return _one_of(target)


def form_fields(
    schema: type[Schema], channels: Choices | None = None, translate: Translate = str
) -> list[dict[str, Any]]:
    """The inspector fields of a data schema, in declaration order (JSON-serialisable):
    `{name, label, kind, required, default, choices, help}`, plus `item_fields` for a list of objects."""
    out = []
    for attr, field in schema().fields.items():
        meta = field.metadata
        if meta.get("form", True) is False:
            continue
        kind = meta.get("kind") or _kind(field)
        item: dict[str, Any] = {
            "name": field.data_key or attr,
            "label": translate(meta["label"]) if meta.get("label") else field.data_key or attr,
            "kind": kind,
            "required": field.required,
            "default": _default(field),
            "choices": _choices(field, channels, translate) if kind in ("select", "multiselect") else None,
            "help": translate(meta["help"]) if meta.get("help") else "",
        }
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            nested = field.inner.nested
            if isinstance(nested, type) and issubclass(nested, Schema):
                item["item_fields"] = form_fields(nested, channels, translate)
        out.append(item)
    return out

