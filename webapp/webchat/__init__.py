"""The website chat: a public, rate-limited, CORS-aware endpoint keyed by the channel's public key."""

from . import routes  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
