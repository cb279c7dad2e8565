"""Tenant settings the bot answers with: business profile, FAQ (with CSV import/export), prompt layers
and a preview of the prompt the model would receive."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import faq_routes, profile_routes, prompt_routes  # noqa: E402,F401
