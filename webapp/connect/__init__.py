from . import facebook, failures, instagram, whatsapp  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
