"""The `webchat` blueprint object (and its hooks); its routes live beside it and register on it."""

from flask import Blueprint

bp = Blueprint("webchat", __name__, url_prefix="/webchat")
