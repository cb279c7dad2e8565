"""Settings → Team: the members and pending invitations, the invite form, role changes, removal, revoking and
sending an invitation again. Owner-only like every settings page (the blueprint's hook); thin over
webapp/services/team.py. Each action answers with a redirect to the page (303), a refusal as a flash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.validators import DataRequired, Length

from webapp.services import team as team_service
from webapp.services.errors import Refused

from ..dashboard.access import owner_required
from ..extensions import db
from ..models.base import utcnow
from ..models.team import Invitation
from ..tenancy import current_tenant, current_tenant_id, get_scoped_or_404
from .blueprint import bp

ROLE_LABELS = {"owner": _l("Owner"), "operator": _l("Operator")}


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[("operator", _l("Operator")), ("owner", _l("Owner"))],
                       default="operator")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[("operator", _l("Operator")), ("owner", _l("Owner"))])


class ActionForm(FlaskForm):
    """Only the CSRF token: remove, revoke and "send again" are buttons."""


def _page(form: InviteForm | None = None, status: int = 200) -> Any:
    tenant_id = current_tenant_id()
    return render_template(
        "settings/team.html", form=form or InviteForm(), role_form=RoleForm(), action_form=ActionForm(),
        members=team_service.members(tenant_id), invitations=team_service.pending_invitations(tenant_id),
        role_labels=ROLE_LABELS, now=utcnow(), is_expired=team_service.is_expired,
        shown=team_service.PENDING_SHOWN), status


def _back() -> Any:
    return redirect(url_for(".team"), 303)


def _invited(result: team_service.Invited) -> None:
    if result.mailed:
        flash(_("Invitation sent to %(email)s.", email=result.invitation.email), "success")
    else:
        flash(_("No email could be sent from this server just now. Pass this one-time link to %(email)s "
                "yourself: %(link)s", email=result.invitation.email, link=result.link), "warning")


def _act(action: Callable[[], Any], done: str) -> Any:
    try:
        action()
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _back()
    flash(done, "success")
    return _back()


@bp.route("/team", methods=["GET", "POST"])
@owner_required
def team() -> Any:
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(form, 400 if form.errors else 200)
    try:
        result = team_service.invite(current_tenant(), form.email.data or "", form.role.data or "",
                                       current_user.email)
    except Refused as exc:
        db.session.rollback()
        form.email.errors = [str(exc.message)]
        return _page(form, exc.status if 400 <= exc.status < 500 else 400)
    _invited(result)
    return _back()


@bp.post("/team/members/<int:member_id>/role")
@owner_required
def team_role(member_id: int) -> Any:
    team_service.member_of(current_tenant_id(), member_id)  # another tenant's id: 404 before anything else
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose owner or operator."), "warning")
        return _back()
    role = form.role.data or ""
    return _act(lambda: team_service.change_role(current_tenant_id(), member_id, role, current_user.email),
                _("Role changed."))


@bp.post("/team/members/<int:member_id>/remove")
@owner_required
def team_remove(member_id: int) -> Any:
    team_service.member_of(current_tenant_id(), member_id)
    if not ActionForm().validate_on_submit():
        return _back()
    response = _act(lambda: team_service.remove_member(current_tenant_id(), member_id, current_user.email),
                    _("Member removed: their sessions have ended."))
    if not current_user.is_authenticated or not current_user.active:  # an owner removed themself
        return redirect(url_for("auth.login"), 303)
    return response


@bp.post("/team/invitations/<int:invitation_id>/revoke")
@owner_required
def team_revoke(invitation_id: int) -> Any:
    get_scoped_or_404(Invitation, invitation_id)
    if not ActionForm().validate_on_submit():
        return _back()
    return _act(lambda: team_service.revoke(current_tenant_id(), invitation_id, current_user.email),
                _("Invitation revoked: its link no longer works."))


@bp.post("/team/invitations/<int:invitation_id>/resend")
@owner_required
def team_resend(invitation_id: int) -> Any:
    get_scoped_or_404(Invitation, invitation_id)
    if not ActionForm().validate_on_submit():
        return _back()
    try:
        result = team_service.send_again(current_tenant_id(), invitation_id, current_user.email)
    except Refused as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _back()
    _invited(result)
    return _back()
