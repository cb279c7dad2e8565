"""The `auth` blueprint object (and its hooks); its routes live beside it and register on it."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
