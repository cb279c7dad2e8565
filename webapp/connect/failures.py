"""How a connect attempt that did not work ends: on a page that says what happened and what to do next.

Every step of an OAuth round trip can fail in a way the person can act on (consent denied, a link opened
twice, a permission left unticked, an account of the wrong type) or cannot (Meta's API answering an error).
Each failure is raised as :class:`ConnectFailed` with a message for each of the two, and the blueprint
renders it (never a 500, never a raw exception; tokens are never part of the message)."""

from __future__ import annotations

from typing import Any

from flask import render_template

from webapp.services.errors import Refused

from .blueprint import bp


class ConnectFailed(Refused):
    """``message`` says what happened, ``advice`` what to do about it (both shown, both translated)."""

    def __init__(self, message: str, advice: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message, status, **extra)
        self.advice = advice


@bp.app_errorhandler(ConnectFailed)
def _failed(exc: ConnectFailed) -> tuple[str, int]:
    return render_template("connect/failed.html", message=exc.message, advice=exc.advice,
                           provider=exc.extra.get("provider", "")), exc.status
