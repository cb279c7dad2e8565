from . import routes  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
