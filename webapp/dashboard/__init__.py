from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import (
    pipeline_routes,  # noqa: E402,F401
    routes,  # noqa: E402,F401
)
