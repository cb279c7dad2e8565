"""Who may open tenant pages: signed-in members of a tenant (staff work in /admin), and among them who may
change the business.

A tenant's members are owners and operators (webapp/models/team.py MEMBER_ROLES). Operators work the inbox,
conversations, leads and contacts; everything that changes how the business runs — settings, channels and
their connection, flows and the editor's API, plans, the team — and the leads export are the owner's.
`owner_required` guards one view; `owner_only` guards a whole blueprint with a `before_request` hook, so a
route added to it later is covered without anyone remembering a decorator.

Operators work the conversations assigned to them or to no one: `conversation_worker_required` guards the
conversation actions (take over, reply, hand back, close, send again); an owner may act in any of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..services.errors import Refused

OWNER = "owner"
OPERATOR = "operator"


def is_owner(user: Any) -> bool:
    """A tenant member with the owner role (staff are not members of any tenant)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and not user.is_staff
                and user.tenant_id is not None and user.role == OWNER)


def tenant_member_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user.is_staff:
            return redirect(url_for("admin.index"))
        if current_user.tenant_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _owners_only_message() -> str:
    return _("Only the owner of this account can open this page. Ask an owner if you need a change here.")


def _refuse_operator() -> Any:
    """The 403 for a member who is not an owner: JSON for the API (the error handler picks by path), a page
    with the reason for people."""
    if request.path.startswith("/api/"):
        return jsonify(error=_owners_only_message()), 403
    abort(403, _owners_only_message())


def owner_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """`tenant_member_required`, and the member must be an owner (an operator gets 403 with a clear page)."""
    @wraps(view)
    @tenant_member_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not is_owner(current_user):
            return _refuse_operator()
        return view(*args, **kwargs)

    return wrapper


def owner_only(bp: Blueprint) -> Blueprint:
    """Every route of `bp` is the owner's. Anonymous users and staff pass through to the view, whose own
    guard sends them to sign in or to /admin as before; an operator is refused before any id is looked up."""
    def _owners_only() -> Any:
        if current_user.is_authenticated and not current_user.is_staff and not is_owner(current_user):
            return _refuse_operator()
        return None

    bp.before_request(_owners_only)
    return bp


def check_may_work(conversation: Any, user: Any) -> None:
    """An owner may act in any conversation of the tenant; an operator only in one nobody took over or that
    they took over themselves. Refused (403) with the reason otherwise."""
    if is_owner(user):
        return
    holder = (conversation.human_owner or "").strip().lower()
    if holder and holder != str(user.email).strip().lower():
        raise Refused(_("%(member)s is working on this conversation: only they or an owner can act in it.",
                        member=conversation.human_owner), 403)


def conversation_worker_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """`tenant_member_required`, and the member may act in the conversation `conversation_id` of the route
    (another tenant's is a 404 here already); a refusal is flashed on the conversation page (303)."""
    @wraps(view)
    @tenant_member_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..models import Conversation
        from ..tenancy import get_scoped_or_404

        conversation = get_scoped_or_404(Conversation, int(kwargs["conversation_id"]))
        try:
            check_may_work(conversation, current_user)
        except Refused as exc:
            flash(str(exc.message), "warning")
            return redirect(url_for("dashboard.conversation_detail", conversation_id=conversation.id), 303)
        return view(*args, **kwargs)

    return wrapper
