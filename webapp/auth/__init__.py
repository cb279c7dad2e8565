from . import invite_routes, routes, signup  # noqa: F401 - register their routes on bp
from .blueprint import bp

__all__ = ["bp"]
