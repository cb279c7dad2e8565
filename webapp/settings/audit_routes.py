"""Settings → Audit log: the owner's view of their own tenant's part of the audit log — sign-ins, failed
sign-ins, password changes, channel connects and removals, token errors, team changes and what staff did to
the account — newest first, in keyset pages (webapp/services/audit.py), never another tenant's.

Entries made by staff show "TemoWeb staff" rather than the staff member's address and no IP address: the
owner learns what was done to their account, not who on the platform's side did it from where."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _

from ..dashboard.access import tenant_member_required
from ..services import audit
from ..tenancy import current_tenant_id
from .blueprint import bp


@bp.get("/audit")
@tenant_member_required
def audit_log() -> Any:
    after = request.args.get("after") or None
    try:
        page = audit.tenant_page(current_tenant_id(), after)
    except ValueError:
        abort(400, _("This page link is not valid any more: open the audit log again."))
    return render_template(
        "settings/audit.html", entries=page.rows,
        older_url=url_for(".audit_log", after=page.next_cursor) if page.next_cursor else None,
        first_page_url=url_for(".audit_log") if after else None)
