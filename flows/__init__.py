"""Flow engine: documents → validated, compiled flows → turn-by-turn interpretation.

Pure Python (no Flask, database, Redis or HTTP). See docs/flow-format.md and docs/architecture.md (Seam 1).
"""

from __future__ import annotations

from typing import Any

from flows.compiler import Flow, compile_document
from flows.diff import diff_documents
from flows.errors import FlowError, Problem

__all__ = ["Flow", "FlowError", "Problem", "diff_documents", "load_flow", "node_types", "validate"]

CATEGORY_ORDER = ("start", "messages", "logic", "ai", "crm", "integrations")


def load_flow(document: dict[str, Any]) -> Flow:
    """Parse, upgrade and compile a document once per version; raises FlowError listing every problem."""
    flow, problems = compile_document(document)
    if flow is None:
        raise FlowError(problems)
    return flow


def validate(document: dict[str, Any]) -> list[Problem]:
    """Every problem in `document` (errors first, then warnings); an empty list means clean."""
    return compile_document(document)[1]


def node_types() -> list[dict[str, Any]]:
    """Palette and inspector descriptions of every registered node type (JSON-serialisable)."""
    from flows import registry

    classes = sorted(
        registry.all_types(),
        key=lambda c: (
            CATEGORY_ORDER.index(c.category) if c.category in CATEGORY_ORDER else len(CATEGORY_ORDER)
        ),
    )
    return [cls.describe() for cls in classes]
