"""The audit log: what staff did in /admin and a tenant's security events, recorded in one place.

`record` adds the entry to the caller's transaction, so an action and its entry are stored together or not
at all; `record_now` commits on its own, for events whose transaction is rolled back or never opened (a
failed sign-in). The actions are listed in ACTIONS so the pages can name them and a typo fails loudly.
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from ..extensions import db
from ..models import AuditEntry
from ..tenancy import scoped
from . import id_pages

PAGE_SIZE = 50

#: Tenant security events, then staff actions in /admin.
TENANT_ACTIONS = ("login", "login_failed", "logout", "password_changed", "channel_connected",
                  "channel_reconnected", "channel_removed", "token_error", "member_invited", "member_joined",
                  "invitation_revoked", "role_changed", "member_removed", "export")
STAFF_ACTIONS = ("plan_changed", "tenant_suspended", "tenant_reactivated", "tenant_created", "tenant_edited",
                 "tenant_deleted", "user_created", "user_edited", "user_deleted", "channel_edited",
                 "impersonation")
ACTIONS = TENANT_ACTIONS + STAFF_ACTIONS


def _actor() -> str:
    if has_request_context() and current_user and current_user.is_authenticated:
        return str(current_user.email)
    return "system"


def _ip() -> str:
    return (request.remote_addr or "")[:45] if has_request_context() else ""


def record(action: str, *, tenant_id: int | None, actor: str | None = None, target: str = "",
           details: dict[str, Any] | None = None, staff: bool = False) -> AuditEntry:
    """Add one entry to the current transaction (the caller commits)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(tenant_id=tenant_id, actor=(actor or _actor())[:255], staff=staff, action=action,
                       target=str(target)[:255], details=details or {}, ip=_ip())
    db.session.add(entry)
    return entry


def record_now(action: str, **kwargs: Any) -> None:
    """Record and commit at once (nothing else pending in the session is expected)."""
    record(action, **kwargs)
    db.session.commit()


def changed_fields(model: Any, *, skip: tuple[str, ...] = ()) -> list[str]:
    """The mapped attributes of `model` that differ from what the database holds (before the flush): what
    an edit in /admin changed. Only names: the values may be secrets or large JSON."""
    from sqlalchemy import inspect

    state = inspect(model)
    return sorted(attr.key for attr in state.attrs
                  if attr.key not in skip and attr.history.has_changes())


# -- reading the log -------------------------------------------------------------------------------------
def tenant_page(tenant_id: int, after: str | None = None, size: int = PAGE_SIZE) -> id_pages.IdPage[AuditEntry]:
    """One page of a tenant's own entries (its security events and what staff did to it), newest first:
    `ix_audit_tenant_id (tenant_id, id)` serves the filter, the order and the cursor. A cursor we did not make
    raises ValueError (the page answers 400)."""
    return id_pages.page(scoped(AuditEntry, tenant_id), AuditEntry, after, size)
