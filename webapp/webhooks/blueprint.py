"""The `webhooks` blueprint object (and its hooks); its routes live beside it and register on it."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
