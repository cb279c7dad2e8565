"""Tenant settings the bot answers with: business profile, FAQ (with CSV import/export), prompt layers
a preview of the prompt the model would receive, the handoff to a person, and where notifications go."""

from . import (  # noqa: F401 - registers their routes on bp
    audit_routes,
    faq_routes,
    handoff_routes,
    lead_fields_routes,
    notifications,
    profile_routes,
    prompt_routes,
    team_routes,
)
from .blueprint import bp

__all__ = ["bp"]
