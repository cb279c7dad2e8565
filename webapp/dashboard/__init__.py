from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import pipeline_routes, routes  # noqa: E402,F401
