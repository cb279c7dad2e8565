"""The website chat: a public, rate-limited, CORS-aware endpoint keyed by the channel's public key."""

from flask import Blueprint

bp = Blueprint("webchat", __name__, url_prefix="/webchat")

from . import routes  # noqa: E402,F401
