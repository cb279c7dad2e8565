"""The blueprint of the pages where a tenant connects a Meta channel by itself (/connect/...)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("connect", __name__, url_prefix="/connect")
