"""The flow document shape (marshmallow) and the upgrade path between `schema_version`s.

Documents follow the node/edge shape of browser graph editors (React Flow): editors add UI keys to nodes
and edges (`selected`, `width`...), so those levels ignore unknown keys, while node `data` is checked
strictly by each node type's own schema.
"""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

SCHEMA_VERSION = 1


class PositionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    x = fields.Float(required=True)
    y = fields.Float(required=True)


class NodeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    type = fields.String(required=True, validate=validate.Length(min=1))
    position = fields.Nested(PositionSchema, load_default=None, allow_none=True)
    data = fields.Dict(load_default=dict)


class EdgeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.String(load_default=None, allow_none=True)
    source = fields.String(required=True)
    sourceHandle = fields.String(load_default=None, allow_none=True)  # noqa: N815 (editor's key)
    target = fields.String(required=True)


class DocumentSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    schema_version = fields.Integer(required=True)
    name = fields.String(load_default="")
    #: A flow-level setting: after a run that asked questions has ended, the next message starts the flow
    #: again only after this many minutes (None: never by itself, the conversation is answered from the FAQ
    #: or offered a person instead; 0: at once, as before). See `engine.step`.
    restart_after_minutes = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=0, max=60 * 24 * 365)
    )
    nodes = fields.List(fields.Nested(NodeSchema), required=True)
    edges = fields.List(fields.Nested(EdgeSchema), load_default=list)


def _v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    """v0 (the prototype) used `config` for node data and edges `{from, to, port}`."""
    for node in doc.get("nodes") or []:
        if isinstance(node, dict) and "data" not in node and "config" in node:
            node["data"] = node.pop("config")
    edges = []
    for i, edge in enumerate(doc.get("edges") or []):
        if isinstance(edge, dict) and "source" not in edge and "from" in edge:
            edge = {
                "id": edge.get("id") or f"e{i + 1}",
                "source": edge.get("from"),
                "sourceHandle": edge.get("port"),
                "target": edge.get("to"),
            }
        edges.append(edge)
    doc["edges"] = edges
    doc["schema_version"] = 1
    return doc


UPGRADES = {0: _v0_to_v1}


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `document` at `SCHEMA_VERSION` (the input is never modified).

    Raises ValueError for versions newer than this engine or not integers.
    """
    doc = copy.deepcopy(document)
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"schema_version must be a non-negative integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} is newer than this engine supports ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        doc = UPGRADES[version](doc)
        version = doc["schema_version"]
    return doc


def parse(document: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """Upgrade and load the document envelope; returns (document, human error messages)."""
    if not isinstance(document, dict):
        return None, ["the flow document must be a JSON object"]
    try:
        doc = upgrade(document)
    except ValueError as exc:
        return None, [str(exc)]
    try:
        return DocumentSchema().load(doc), []
    except ValidationError as exc:
        return None, humanize(exc.messages)


def humanize(messages: Any, prefix: str = "", labels: dict[str, str] | None = None) -> list[str]:
    """Turn marshmallow's nested error dict into sentences like "Question (text): is required"."""
    out: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key)
            if key == "_schema":
                name = ""
            elif labels and name in labels and not prefix:
                name = f"{labels[name]} ({name})"
            elif isinstance(key, int):
                name = f"item {key + 1}"
            path = f"{prefix} → {name}" if prefix and name else (prefix or name)
            out.extend(humanize(value, path, labels))
    elif isinstance(messages, list):
        for value in messages:
            out.extend(humanize(value, prefix, labels))
    else:
        text = _FRIENDLY.get(str(messages), str(messages))
        out.append(f"{prefix}: {text}" if prefix else text)
    return out


_FRIENDLY = {
    "Missing data for required field.": "is required",
    "Unknown field.": "is not a setting of this node type",
    "Not a valid string.": "must be text",
    "Not a valid integer.": "must be a whole number",
    "Not a valid number.": "must be a number",
    "Not a valid boolean.": "must be true or false",
    "Not a valid list.": "must be a list",
    "Not a valid mapping type.": "must be an object",
    "Field may not be null.": "must not be empty",
}
