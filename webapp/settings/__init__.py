"""Tenant settings the bot answers with: business profile, FAQ (with CSV import/export), prompt layers
and a preview of the prompt the model would receive."""

from . import faq_routes, profile_routes, prompt_routes  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
