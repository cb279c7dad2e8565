"""The one kind of expected refusal a service raises: the JSON API answers it as `{"error": message,
**extra}` with `status`, a form shows the message, the CLI prints it and exits non-zero."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """An expected failure answered as `{"error": message, **extra}` with `status`."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.extra = extra
