"""Problems found in a flow document and the error that carries them.

Validation never raises: it returns a list of `Problem`s so the editor can show every issue at once.
`load_flow` raises `FlowError` only because a caller that wants a runnable flow cannot continue.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One issue in a document; `node_id` is None for document-level problems."""

    node_id: str | None
    severity: Severity
    code: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


class FlowError(ValueError):
    """Raised by `load_flow` when a document has errors; `problems` lists all of them (errors first)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        summary = "; ".join(p.message for p in errors[:3]) or "invalid flow"
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(summary + more)


def error(node_id: str | None, code: str, message: str) -> Problem:
    return Problem(node_id, "error", code, message)


def warning(node_id: str | None, code: str, message: str) -> Problem:
    return Problem(node_id, "warning", code, message)
