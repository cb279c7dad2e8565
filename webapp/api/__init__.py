"""Seam 5: the back-office JSON API the browser flow editor calls (docs/architecture.md).

Every route answers JSON, is reached only by a signed-in tenant member (401/403 as JSON, never a login
redirect a `fetch` would follow) and reads tenant data only through `webapp.tenancy`.
"""

from . import flows_routes, send_test_routes, simulate_routes, tests_routes, versions_routes  # noqa: F401 - registers their routes on bp
from .blueprint import bp

__all__ = ["bp"]
