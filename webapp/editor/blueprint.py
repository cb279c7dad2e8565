"""The `editor` blueprint object; its routes live beside it and register on it."""

from flask import Blueprint

bp = Blueprint("editor", __name__)
