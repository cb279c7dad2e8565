"""`{{variable}}` templates rendered against a conversation's variables.

Rendering is one regex pass, so a value that itself contains `{{x}}` is inserted as plain text and never
expanded again (a customer cannot inject template syntax). A missing variable renders as an empty string
and is reported back, because a typo in a tenant's text must not break the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w]*(?:\.[\w]+)*)\s*\}\}")

#: Names that are always defined: contact fields, the channel and the last user message.
CONTACT_VARS = frozenset({"name", "username", "phone", "channel", "email"})
SYSTEM_VARS = frozenset({"last_message", "language"})
#: Prefixes whose lookups go to the contact / tenant profile instead of conversation variables.
SCOPES = frozenset({"contact", "profile", "vars"})

Missing = object()


def placeholders(text: str) -> list[str]:
    """Variable paths used in `text`, in order (duplicates kept)."""
    if "{{" not in text:
        return []
    return PLACEHOLDER.findall(text)


def is_builtin(path: str) -> bool:
    """True for paths the engine always provides (contact fields, profile, system values)."""
    root = path.split(".", 1)[0]
    return root in ("contact", "profile") or path in CONTACT_VARS or path in SYSTEM_VARS


def to_text(value: Any) -> str:
    """Plain-text form of a variable value: lists joined with commas, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(to_text(v) for v in value)
    return str(value)


def dig(value: Any, parts: Iterable[str]) -> Any:
    """Follow dotted `parts` through dicts and lists; `Missing` when any step is absent."""
    for part in parts:
        if isinstance(value, Mapping):
            value = value.get(part, Missing)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return Missing
        if value is Missing:
            return Missing
    return value


def render(text: str, lookup: Callable[[str], Any], missing: list[str] | None = None) -> str:
    """Substitute every `{{path}}` in `text` using `lookup(path)`; record unknown paths in `missing`."""
    if "{{" not in text:
        return text

    def substitute(match: re.Match[str]) -> str:
        path = match.group(1)
        value = lookup(path)
        if value is Missing:
            if missing is not None:
                missing.append(path)
            return ""
        return to_text(value)

    return PLACEHOLDER.sub(substitute, text)


def render_json(value: Any, lookup: Callable[[str], Any], missing: list[str] | None = None) -> Any:
    """Render templates inside every string of a JSON-like value (used for HTTP bodies)."""
    if isinstance(value, str):
        return render(value, lookup, missing)
    if isinstance(value, list):
        return [render_json(v, lookup, missing) for v in value]
    if isinstance(value, dict):
        return {k: render_json(v, lookup, missing) for k, v in value.items()}
    return value


def strings_in(value: Any) -> Iterable[str]:
    """Every string nested in a JSON-like value (used to find template reads in node data)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
