"""The `editor` blueprint object; its routes live beside it and register on it."""

from flask import Blueprint

from ..dashboard.access import owner_only

bp = owner_only(Blueprint("editor", __name__))  # operators: 403 (dashboard/access.py)
