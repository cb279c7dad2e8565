"""The page an invitation link opens: `/invite/<token>` shows the business, the address and the role, and
asks for a password; sending it creates the member's account (webapp/services/team.py `accept`) and signs
them in. A link that cannot be used (expired, used, revoked, mangled) gets a clear page: 410 Gone for the
first three, 400 for the last; an address that meanwhile has an account is told so on the form (409)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, session
from flask_babel import gettext as _
from flask_login import login_user

from ..extensions import db
from ..models import Tenant
from ..models.base import utcnow
from ..services import team
from ..services.errors import Refused
from .blueprint import bp
from .forms import NewPasswordForm
from .routes import SESSION_VERSION_KEY, home_for


def _refused(problem: str) -> Any:
    status = 400 if problem == "invalid" else 410
    return render_template("auth/invite_refused.html", problem=problem), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str) -> Any:
    checked = team.check(token)
    if checked.invitation is None:
        return _refused(checked.problem or "invalid")
    invitation = checked.invitation
    tenant = db.session.get(Tenant, invitation.tenant_id)
    form = NewPasswordForm()

    def page(status: int) -> Any:
        return render_template("auth/invite.html", form=form, invitation=invitation,
                               business=tenant.name if tenant else ""), status

    if not form.validate_on_submit():
        return page(400 if request.method == "POST" else 200)
    try:
        user = team.accept(token, form.password.data or "")
    except Refused as exc:
        db.session.rollback()
        problem = exc.extra.get("problem")
        if problem in ("invalid", "expired", "used", "revoked"):
            return _refused(problem)
        form.password.errors = [str(exc.message)]
        return page(exc.status)
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version
    user.last_login_at = utcnow()
    db.session.commit()
    flash(_("Welcome to %(business)s!", business=tenant.name if tenant else ""), "success")
    return redirect(home_for(user))
