"""Scenario templates shipped with the product (JSON files beside this module).

Each file is `{"key", "name", "description", "niche", "language", "kind": "scenario", "document": {...}}`;
files of another kind (e.g. prompt layers) are ignored here. Templates are data, so adding one needs no code.

A flow document is written in one language, so every template ships once per language, each as its own
file: `lead_capture.json` (key `lead_capture`, English) and `lead_capture.ru.json` (key `lead_capture_ru`,
Russian). English keeps the bare key, so the keys tenants, tests and the demo have always used stay valid;
another language adds `_<language>` to the key (`localized_key`). The same suffix rule gives the language of a
staff-added template or prompt layer, which have no language column (`split_key`).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).parent
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
SUMMARY_KEYS = ("key", "name", "description", "niche", "language", "kind")


def split_key(key: str) -> tuple[str, str]:
    """`("lead_capture", "ru")` for `lead_capture_ru`, `("lead_capture", "en")` for `lead_capture`: the
    language a key names and the key of the same template in English."""
    for language in LANGUAGES:
        suffix = f"_{language}"
        if language != DEFAULT_LANGUAGE and key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], language
    return key, DEFAULT_LANGUAGE


def localized_key(key: str, language: str | None) -> str:
    """The key of template (or layer) `key` in `language`; English (the bare key) for an unknown one."""
    base, _ = split_key(key)
    if not language or language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return base
    return f"{base}_{language}"


def is_template_file(data: Any) -> bool:
    """A shipped template file (the wrapper around a flow document) rather than a bare flow document: a
    document has `nodes` at its top level, a wrapper has them inside `document`."""
    return isinstance(data, dict) and isinstance(data.get("document"), dict) and "nodes" not in data


@lru_cache(maxsize=1)
def _scenarios() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(DIRECTORY.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(data, dict)
            and data.get("kind") == "scenario"
            and isinstance(data.get("document"), dict)
        ):
            key = data.get("key") or path.stem.replace(".", "_")
            found[key] = {**data, "key": key, "language": data.get("language") or split_key(key)[1]}
    return found


def list_templates(language: str | None = None) -> list[dict[str, Any]]:
    """Summaries of every scenario template (only those in `language` when given), sorted by key (for the
    "new flow" picker)."""
    return [
        {k: t.get(k) for k in SUMMARY_KEYS}
        for _, t in sorted(_scenarios().items())
        if language is None or t["language"] == language
    ]


def load_template(key: str) -> dict[str, Any]:
    """A fresh copy of the template's flow document; KeyError for an unknown key."""
    try:
        template = _scenarios()[key]
    except KeyError:
        raise KeyError(f"unknown template {key!r}") from None
    return copy.deepcopy(template["document"])
