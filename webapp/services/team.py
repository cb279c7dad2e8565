"""A tenant's team: members (owners and operators), invitations by a one-time emailed link, role changes and
removal. The settings page (webapp/settings/team_routes.py) and the accept page (webapp/auth/invite_routes.py)
are thin over these; every change is recorded in the audit log in the same transaction.

Invitation links. Only the token's SHA-256 is stored (`Invitation.token_hash`). The mail is written and sent
by a queued job like the sign-up and reset mails (a slow SMTP server never holds a page), and the job issues
the token it mails itself: the token never sits in the queue, and each send ("send again") kills the link
sent before. When this server cannot send mail the owner is shown the link once, to pass on. A link works
once (`accepted_at` is set by a conditional UPDATE, so two clicks at the same moment make one account), until
`expires_at` (INVITE_LINK_HOURS), and not after the owner revoked it.

Removal ends the member's sessions at once: the account is deactivated and its `session_version` bumped, so
every cookie it holds signs no one in on the next request (webapp/auth/routes.py `load_user`). The account is
kept rather than deleted (SQLite may hand a deleted row's id to the next user, whom an old cookie naming that
id would then reach); inviting the same address again brings it back with the new role and password.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from connectors.runtime.jobs import app_job
from connectors.runtime.queue import QueueUnavailable, get_queue
from connectors.runtime.run_slots import waiting

from ..extensions import db
from ..models import Conversation, Tenant, User
from ..models.base import as_utc, utcnow
from ..models.team import MEMBER_ROLES, Invitation
from ..tenancy import get_scoped_or_404, scoped
from .audit import record
from .errors import Refused
from .mail import Mail, mail_configured, send_mail

log = logging.getLogger(__name__)

MAIL_JOB = "webapp.services.team.mail_invitation"
#: Pending invitations the team page lists (newest first); older pending ones still work.
PENDING_SHOWN = 100
PASSWORD_MIN = 8


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def _email(raw: str) -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise Refused(_("Enter a valid email address.")) from None


def _role(role: str) -> str:
    if role not in MEMBER_ROLES:
        raise Refused(_("Unknown role: choose owner or operator."))
    return role


def _account(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def _removed_here(user: User | None, tenant_id: int) -> bool:
    """A member this tenant removed earlier (kept, inactive): inviting them again brings the account back."""
    return user is not None and not user.active and user.tenant_id == tenant_id and not user.is_staff


# -- reading ------------------------------------------------------------------------------------------------

def members(tenant_id: int) -> list[User]:
    """The tenant's active members, oldest first (a team is a handful of people)."""
    return list(db.session.scalars(scoped(User, tenant_id).where(User.active == True)  # noqa: E712
                                   .order_by(User.id)))


def pending_invitations(tenant_id: int) -> list[Invitation]:
    """Invitations neither accepted nor revoked, newest first (expired ones too: the page offers "send again")."""
    return list(db.session.scalars(
        scoped(Invitation, tenant_id).where(Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.id.desc()).limit(PENDING_SHOWN)))


def is_expired(invitation: Invitation, now: datetime | None = None) -> bool:
    return as_utc(invitation.expires_at) <= (now or utcnow())


def _owners(tenant_id: int) -> int:
    """Active owners, counted under a lock of the tenant's row: two owners demoting or removing each other at
    the same moment take turns, so the second sees the first's change and the tenant keeps an owner."""
    db.session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    return int(db.session.scalar(
        select(func.count()).select_from(User).where(User.tenant_id == tenant_id, User.role == "owner",
                                                     User.active == True)) or 0)  # noqa: E712


# -- inviting -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invited:
    """An invitation made: whether its mail was queued, and otherwise the link to pass on by hand."""

    invitation: Invitation
    mailed: bool
    link: str | None = None


def invite(tenant: Tenant, email: str, role: str, by: str) -> Invited:
    """Invite `email` to `tenant` with `role`. Refused for an address that already has an account (a person
    belongs to one tenant), except a member this tenant removed. An earlier pending invitation of the same
    address to this tenant is revoked: only the newest link works."""
    address, role = _email(email), _role(role)
    account = _account(address)
    if account is not None and not _removed_here(account, tenant.id):
        raise Refused(_("%(email)s already has a TemoWeb Bots account: a person can belong to one business "
                        "only.", email=address), 409)
    now = utcnow()
    db.session.execute(update(Invitation).where(
        Invitation.tenant_id == tenant.id, func.lower(Invitation.email) == address, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)).values(revoked_at=now))
    token, digest = _new_token()
    invitation = Invitation(tenant_id=tenant.id, email=address, role=role, token_hash=digest, invited_by=by[:254],
                            created_at=now, expires_at=now + _lifetime())
    db.session.add(invitation)
    db.session.flush()
    record("member_invited", tenant_id=tenant.id, actor=by, target=address,
           details={"role": role, "invitation_id": invitation.id})
    db.session.commit()
    return _deliver(invitation, token)


def send_again(tenant_id: int, invitation_id: int, by: str) -> Invited:
    """A new link for a pending invitation (the earlier one stops working), valid for a full period again."""
    invitation = get_scoped_or_404(Invitation, invitation_id, tenant_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Refused(_("This invitation was accepted or revoked already."), 409)
    token, invitation.token_hash = _new_token()
    invitation.expires_at = utcnow() + _lifetime()
    record("member_invited", tenant_id=tenant_id, actor=by, target=invitation.email,
           details={"role": invitation.role, "invitation_id": invitation.id, "again": True})
    db.session.commit()
    return _deliver(invitation, token)


def revoke(tenant_id: int, invitation_id: int, by: str) -> Invitation:
    invitation = get_scoped_or_404(Invitation, invitation_id, tenant_id)
    if invitation.accepted_at is not None:
        raise Refused(_("This invitation was accepted already: remove the member instead."), 409)
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        record("invitation_revoked", tenant_id=tenant_id, actor=by, target=invitation.email,
               details={"invitation_id": invitation.id})
    db.session.commit()
    return invitation


def _lifetime() -> timedelta:
    return timedelta(hours=float(current_app.config["INVITE_LINK_HOURS"]))


def invite_link(token: str) -> str:
    """The absolute link for the mail (built from the URL map: the job has no request)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + current_app.url_map.bind("localhost").build(
        "auth.invite", {"token": token})


def _deliver(invitation: Invitation, token: str) -> Invited:
    """Queue the mail (its job issues the link it sends), or hand the link back when no mail can go."""
    from ..auth.throttle import mail_throttle

    if mail_configured() and mail_throttle().may_mail(invitation.email):
        try:
            get_queue().enqueue(MAIL_JOB, invitation.id, priority="high")
            return Invited(invitation, True)
        except QueueUnavailable as exc:
            log.error("invitation mail not queued: %s", exc)
    return Invited(invitation, False, invite_link(token))


def write_invitation_mail(invitation_id: int) -> Mail | None:
    """The invitation mail with a freshly issued link (the previous link of this invitation stops working);
    None when the invitation is no longer pending. Commits the new token's hash."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None \
            or is_expired(invitation):
        log.info("invitation mail not sent: the invitation is no longer pending")
        return None
    tenant = db.session.get(Tenant, invitation.tenant_id)
    if tenant is None:
        return None
    token, invitation.token_hash = _new_token()
    db.session.commit()
    context = {"link": invite_link(token), "business": tenant.name, "by": invitation.invited_by,
               "role": invitation.role, "hours": int(float(current_app.config["INVITE_LINK_HOURS"]))}
    with force_locale(tenant.language if tenant.language in ("en", "ru") else "en"):
        subject = str(_("You are invited to %(business)s on TemoWeb Bots", business=tenant.name))
        text = render_template("emails/invite.txt.html", **context)
        html = render_template("emails/invite.html", **context)
    return Mail(invitation.email, subject, text, html)


@app_job
def mail_invitation(invitation_id: int) -> bool:
    """The job: write the mail (database work), let the session go, then wait on the SMTP server."""
    mail = write_invitation_mail(invitation_id)
    db.session.close()
    if mail is None:
        return False
    with waiting():
        return send_mail(*mail)


# -- accepting ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Checked:
    """What an invitation link turned out to be: the pending invitation, or why it is refused."""

    invitation: Invitation | None
    problem: str | None = None  # "invalid", "expired", "used", "revoked"


def check(token: str) -> Checked:
    if not token or len(token) > 200:
        return Checked(None, "invalid")
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None:
        return Checked(None, "invalid")
    if invitation.accepted_at is not None:
        return Checked(None, "used")
    if invitation.revoked_at is not None:
        return Checked(None, "revoked")
    if is_expired(invitation):
        return Checked(None, "expired")
    return Checked(invitation)


def accept(token: str, password: str) -> User:
    """Create the member's account from a pending invitation (or bring back a member this tenant removed).
    Refused: a link that is not pending (problem in `extra["problem"]`), a short password, an address that
    meanwhile got an account elsewhere."""
    checked = check(token)
    if checked.invitation is None:
        raise Refused(_("This invitation link cannot be used."), 410 if checked.problem != "invalid" else 400,
                      problem=checked.problem)
    invitation = checked.invitation
    if len(password or "") < PASSWORD_MIN:
        raise Refused(_("Use at least %(min)d characters.", min=PASSWORD_MIN))
    account = _account(invitation.email)
    if account is not None and not _removed_here(account, invitation.tenant_id):
        raise Refused(_("%(email)s already has a TemoWeb Bots account: sign in with it, or ask the owner to "
                        "invite another address.", email=invitation.email), 409, problem="exists")
    now = utcnow()
    taken = db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=now)).rowcount
    if taken != 1:  # another click of the same link won
        db.session.rollback()
        raise Refused(_("This invitation link cannot be used."), 410, problem="used")
    if account is None:
        account = User(email=invitation.email, tenant_id=invitation.tenant_id, session_version=0)
        db.session.add(account)
    account.role = invitation.role
    account.active = True
    account.set_password(password)
    account.email_confirmed_at = now  # the link reached the mailbox
    try:
        db.session.flush()
    except IntegrityError:  # the address got an account this very moment (another tenant's invitation)
        db.session.rollback()
        raise Refused(_("%(email)s already has a TemoWeb Bots account: sign in with it, or ask the owner to "
                        "invite another address.", email=invitation.email), 409, problem="exists") from None
    record("member_joined", tenant_id=invitation.tenant_id, actor=account.email, target=account.email,
           details={"role": invitation.role, "invitation_id": invitation.id})
    db.session.commit()
    return account


# -- changing the team --------------------------------------------------------------------------------------

def change_role(tenant_id: int, member_id: int, role: str, by: str) -> User:
    """Give a member another role; the last owner cannot stop being one (someone must run the account)."""
    member = member_of(tenant_id, member_id)
    role = _role(role)
    if role == member.role:
        return member
    if member.role == "owner" and _owners(tenant_id) <= 1:
        raise Refused(_("%(email)s is the only owner: make another member an owner first.", email=member.email),
                      409)
    before, member.role = member.role, role
    record("role_changed", tenant_id=tenant_id, actor=by, target=member.email,
           details={"from": before, "to": role, "member_id": member.id})
    db.session.commit()
    return member


def remove_member(tenant_id: int, member_id: int, by: str) -> User:
    """Remove a member: their sessions end at once (deactivated, `session_version` bumped), the conversations
    they had taken over stay paused and become unassigned, so another member picks them up."""
    member = member_of(tenant_id, member_id)
    if member.role == "owner" and _owners(tenant_id) <= 1:
        raise Refused(_("%(email)s is the only owner and cannot be removed.", email=member.email), 409)
    member.active = False
    member.session_version = (member.session_version or 0) + 1
    db.session.execute(update(Conversation).where(
        Conversation.tenant_id == tenant_id, Conversation.human_owner == member.email)
        .values(human_owner=None, updated_at=Conversation.updated_at).execution_options(synchronize_session=False))
    record("member_removed", tenant_id=tenant_id, actor=by, target=member.email,
           details={"role": member.role, "member_id": member.id})
    db.session.commit()
    return member


def member_of(tenant_id: int, member_id: int) -> User:
    """An active member of this tenant; anything else (another tenant's user, staff, a removed member) 404s."""
    member = get_scoped_or_404(User, member_id, tenant_id)
    if not member.active:
        from flask import abort

        abort(404)
    return member
