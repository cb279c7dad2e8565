"""The `api` blueprint object (and its hooks); its routes live beside it and register on it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask_login import current_user

from ..dashboard.access import owner_only
from .payload import ApiError

bp = owner_only(Blueprint("api", __name__, url_prefix="/api"))  # operators: 403 (dashboard/access.py)


@bp.before_request
def _members_only() -> Any:
    """Runs after CSRFProtect (an app-level hook) and before any view, so ids are never looked up for
    anonymous users or staff (staff work in /admin)."""
    if not current_user.is_authenticated:
        return jsonify(error="Sign in required."), 401
    if current_user.is_staff or current_user.tenant_id is None:
        return jsonify(error="Only members of a tenant can use this API."), 403
    return None


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    return jsonify(error=exc.message, **exc.extra), exc.status
