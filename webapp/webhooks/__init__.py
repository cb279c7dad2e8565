"""Channel webhooks: verify, store, enqueue — nothing more (DESIGN.md, rule 8)."""

from . import notify_bot, routes  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
