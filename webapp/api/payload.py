"""Reading request bodies defensively: anything a browser (or an attacker) sends becomes a 400 with a
message, never a 500."""

from __future__ import annotations

from typing import Any

from flask import request

from ..inputs import MAX_DEPTH, int_of, too_deep  # noqa: F401 - int_of: the API's spelling
from ..services.errors import Refused as ApiError

MAX_MESSAGES = 50
MAX_MESSAGE_CHARS = 4000
MAX_NAME_CHARS = 200


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object; `optional` lets an empty body stand for `{}` (publish, check-replies)."""
    if optional and not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        data = None
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object.")
    if too_deep(data):
        raise ApiError(f"The JSON is nested more than {MAX_DEPTH} levels deep.")
    return data


def document_of(data: dict[str, Any]) -> dict[str, Any]:
    document = data.get("document")
    if not isinstance(document, dict):
        raise ApiError("`document` must be a JSON object (a flow document).")
    return document


def name_of(data: dict[str, Any], *, required: bool = True) -> str | None:
    raw = data.get("name")
    if raw is None and not required:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError("`name` must be a non-empty string.")
    if len(raw.strip()) > MAX_NAME_CHARS:
        raise ApiError(f"`name` must be at most {MAX_NAME_CHARS} characters.")
    return raw.strip()


def messages_of(data: dict[str, Any], *, allow_empty: bool = True) -> list[str]:
    messages = data.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
        raise ApiError("`messages` must be a list of strings.")
    if len(messages) > MAX_MESSAGES:
        raise ApiError(f"Too many messages: at most {MAX_MESSAGES} per run.")
    if any(len(m) > MAX_MESSAGE_CHARS for m in messages):
        raise ApiError(f"A message may be at most {MAX_MESSAGE_CHARS} characters.")
    if not allow_empty and not messages:
        raise ApiError("`messages` must not be empty.")
    return messages


def choice_of(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if value not in choices:
        raise ApiError(f"`{key}` must be one of: {', '.join(choices)}.")
    return str(value)
