"""Scenario templates shipped with the product (JSON files beside this module).

Each file is `{"key", "name", "description", "niche", "kind": "scenario", "document": {...}}`; files of
another kind (e.g. prompt layers) are ignored here. Templates are data, so adding one needs no code.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).parent
SUMMARY_KEYS = ("key", "name", "description", "niche", "kind")


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
            found[data.get("key") or path.stem] = data
    return found


def list_templates() -> list[dict[str, Any]]:
    """Summaries of every scenario template, sorted by key (for the "new flow" picker)."""
    return [{k: t.get(k) for k in SUMMARY_KEYS} for _, t in sorted(_scenarios().items())]


def load_template(key: str) -> dict[str, Any]:
    """A fresh copy of the template's flow document; KeyError for an unknown key."""
    try:
        template = _scenarios()[key]
    except KeyError:
        raise KeyError(f"unknown template {key!r}") from None
    return copy.deepcopy(template["document"])
