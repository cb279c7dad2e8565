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
