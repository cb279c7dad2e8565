"""The blueprint of the pages where a tenant connects a Meta channel by itself (/connect/...)."""

from __future__ import annotations

from flask import Blueprint

from ..dashboard.access import owner_only

bp = owner_only(Blueprint("connect", __name__, url_prefix="/connect"))  # operators: 403 (dashboard/access.py)
