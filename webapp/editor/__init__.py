"""The page that mounts the browser flow editor bundle (built from `ui/` by `make editor`), and the
flows-page forms (new flow from a template, make default, delete) that do not need the bundle."""

from flask import Blueprint

bp = Blueprint("editor", __name__)

from . import routes  # noqa: E402,F401
