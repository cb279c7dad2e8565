from . import banners, contacts_routes, conversation_routes, health_routes, inbox_routes, pipeline_routes, routes  # noqa: F401 - registers their routes (and banners) on bp
from .blueprint import bp

__all__ = ["bp"]
