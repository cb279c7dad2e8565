"""Who may open tenant pages: signed-in members of a tenant (staff work in /admin)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, redirect, url_for
from flask_login import current_user, login_required


def tenant_member_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_staff:
            return redirect(url_for("admin.index"))
        if current_user.tenant_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper
