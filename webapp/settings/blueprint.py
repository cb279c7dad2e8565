"""The `settings` blueprint object (and its hooks); its routes live beside it and register on it."""

from flask import Blueprint

from ..dashboard.access import owner_only

bp = owner_only(Blueprint("settings", __name__, url_prefix="/settings"))  # operators: 403 (dashboard/access.py)
