"""The `dashboard` blueprint object (and its hooks); its routes live beside it and register on it."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
