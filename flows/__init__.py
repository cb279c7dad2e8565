"""Flow engine: documents → validated, compiled flows → turn-by-turn interpretation.

Pure Python (no Flask, database, Redis or HTTP). See docs/flow-format.md and docs/architecture.md (Seam 1).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from flows import registry
from flows.compiler import Flow, compile_document
from flows.diff import diff_documents
from flows.errors import FlowError, Problem
from flows.nodes.form import Choices, Translate

__all__ = ["Flow", "FlowError", "Problem", "diff_documents", "load_flow", "node_types", "validate"]

CATEGORY_ORDER = ("start", "messages", "logic", "ai", "crm", "integrations")


def load_flow(document: dict[str, Any], channels: Collection[str] | None = None) -> Flow:
    """Parse, upgrade and compile a document once per version; raises FlowError listing every problem.

    `channels` are the channel names a trigger or condition may name; None accepts any name (a stored
    version is run as it was published, even if a channel has since left the list)."""
    flow, problems = compile_document(document, channels)
    if flow is None:
        raise FlowError(problems)
    return flow


def validate(document: dict[str, Any], channels: Collection[str] | None = None) -> list[Problem]:
    """Every problem in `document` (errors first, then warnings); an empty list means clean.

    `channels`: the channel names the caller serves (`flows` does not know them); None accepts any."""
    return compile_document(document, channels)[1]


def node_types(channels: Choices = (), translate: Translate = str) -> list[dict[str, Any]]:
    """Palette and inspector descriptions of every node type (JSON-serialisable), in palette order.

    `channels` are the (value, label) pairs a channel field offers; `translate` turns the node types'
    English texts (marked `N_` in their modules) into the reader's language, e.g. Flask-Babel's `gettext`."""
    classes = sorted(
        registry.all_types(),
        key=lambda c: (
            CATEGORY_ORDER.index(c.category) if c.category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        ),
    )
    return [cls.describe(channels, translate) for cls in classes]
