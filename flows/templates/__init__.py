"""Scenario templates and platform prompt layers shipped with the product (JSON files beside this module).

Each scenario file is `{"key", "name", "description", "niche", "language", "kind": "scenario", "document":
{...}}`; files of another kind are ignored by the scenario library. Templates are data, so adding one needs
no code. The prompt layers the platform ships (a `platform` base layer and a `niche` layer per niche) live
in `layers/`, one file per layer and language: `{"kind": "platform" | "niche", "key", "language", "name",
"text"}` (`list_layers`; `webapp.services.prompts` seeds them as rows that staff then edit in /admin).

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
LAYERS_DIRECTORY = DIRECTORY / "layers"
LANGUAGES = ("en", "ru")
DEFAULT_LANGUAGE = "en"
SUMMARY_KEYS = ("key", "name", "description", "niche", "language", "kind")
LAYER_KINDS = ("platform", "niche")
LAYER_FIELDS = ("kind", "key", "language", "name", "text")


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


def _layer_problem(path: Path, data: Any) -> str | None:
    """Why a shipped layer file is malformed (None when it is fine): a broken file must fail loudly at
    import, not seed a half-empty layer that staff would then have to notice in /admin."""
    if not isinstance(data, dict):
        return "is not a JSON object"
    if data.get("kind") not in LAYER_KINDS:
        return f"has kind {data.get('kind')!r}, expected one of {LAYER_KINDS}"
    if data.get("language") not in LANGUAGES:
        return f"has language {data.get('language')!r}, expected one of {LANGUAGES}"
    for field in ("key", "name", "text"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            return f"has no {field}"
    bare, _ = split_key(data["key"])
    if bare != data["key"]:
        return f"has key {data['key']!r}: write the bare key ({bare!r}); `language` names the language"
    suffix = "" if data["language"] == DEFAULT_LANGUAGE else f".{data['language']}"
    if path.name != f"{data['key']}{suffix}.json":
        return f"should be named {data['key']}{suffix}.json after its key and language"
    return None


@lru_cache(maxsize=1)
def _layers() -> tuple[dict[str, Any], ...]:
    """Read once per process: the files only change with a deploy."""
    found = []
    for path in sorted(LAYERS_DIRECTORY.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"prompt layer file {path}: not valid JSON ({error})") from error
        problem = _layer_problem(path, data)
        if problem:
            raise ValueError(f"prompt layer file {path}: {problem}")
        found.append({field: data[field] for field in LAYER_FIELDS})
    # the platform base first, then the niches by key; in each, English before the other languages
    found.sort(key=lambda d: (d["kind"] != "platform", d["key"], LANGUAGES.index(d["language"])))
    return tuple(found)


def list_layers(language: str | None = None) -> list[dict[str, Any]]:
    """Every shipped prompt layer (only those in `language` when given) as `{kind, key, language, name,
    text}` with the bare key (`beauty` in both languages): platform layers first, then niches by key."""
    return [dict(layer) for layer in _layers() if language is None or layer["language"] == language]
