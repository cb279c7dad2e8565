"""The page that mounts the browser flow editor bundle (built from `ui/` by `make editor`), and the
flows-page forms (new flow from a template, make default, delete) that do not need the bundle."""

from . import routes  # noqa: F401 - registers its routes on bp
from .blueprint import bp

__all__ = ["bp"]
