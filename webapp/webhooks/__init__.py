"""Channel webhooks: verify, store, enqueue — nothing more (DESIGN.md, rule 8)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from . import routes  # noqa: E402,F401
