"""Self-service sign-up, email confirmation and password reset.

Sign-up makes a tenant on the plan staff chose for sign-ups (SIGNUP_PLAN) and its owner, signs the owner in
and mails a confirmation link. Until the link is followed the owner can work, but every back-office page
carries a notice with "send the link again" (MAIL_RECIPIENT_LIMIT caps those mails). Staff turn sign-up
off with SIGNUP_ENABLED=0: /signup is then a 404 and the sign-in page has no link to it.

A password reset answers the same page whether or not the address has an account, so it cannot be used to
find out who is a customer; the link (tokens.py) works once, and the new password ends every other session
(the password listener in routes.py bumps `session_version`).

No page sends mail itself: it counts the mail against the caps and queues the job
`connectors.runtime.jobs.mail_link`, which writes it with `write_link_mail` here and sends it. So a slow
SMTP server never slows a page, and a reset request does the same work whether or not the address has an
account (only the job looks it up): neither the answer nor the time it takes tells who is a customer.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from sqlalchemy import func, select

from connectors.runtime.queue import QueueUnavailable, get_queue

from ..extensions import db
from ..models import Tenant, User
from ..models.base import utcnow
from ..security import client_address
from ..services.audit import record
from ..services.errors import Refused
from ..services.mail import Mail, mail_configured
from ..services.tenants import create_tenant, create_user
from .blueprint import bp
from .forms import NewPasswordForm, ResetRequestForm, SignupForm
from .routes import SESSION_VERSION_KEY, home_for
from .throttle import mail_throttle
from .tokens import CONFIRM, RESET, check_token, make_token

log = logging.getLogger(__name__)

MAIL_JOB = "connectors.runtime.jobs.mail_link"

NOTICE_BLUEPRINTS = frozenset({"dashboard", "settings"})


class ResendForm(FlaskForm):
    """Only the CSRF token: "send the link again" is a button."""


def signup_enabled() -> bool:
    return bool(current_app.config.get("SIGNUP_ENABLED", True))


@bp.app_context_processor
def _signup_link() -> dict[str, bool]:
    return {"signup_enabled": signup_enabled()}


def _sign_in(user: User) -> None:
    login_user(user)
    session[SESSION_VERSION_KEY] = user.session_version
    user.last_login_at = utcnow()


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _link(endpoint: str, **values: str) -> str:
    """An absolute link for a mail: the public URL, not whatever host a request came in on. Built from the URL
    map rather than `url_for`, because the job that writes the mail has no request."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + current_app.url_map.bind("localhost").build(
        endpoint, values)


def _language(user: User) -> str:
    if user.language in ("en", "ru"):
        return user.language
    tenant = db.session.get(Tenant, user.tenant_id) if user.tenant_id else None
    return tenant.language if tenant is not None and tenant.language in ("en", "ru") else "en"


def _queue_link(kind: str, email: str, user_id: int | None = None) -> bool:
    """Counts one link mail against the recipient's cap and queues the job that writes and sends it; False
    when no mail will go (no SMTP, the cap reached, the queue down). A reset names only the address typed,
    so this does the same work whether or not it has an account."""
    if not mail_configured():
        return False
    if not mail_throttle().may_mail(email):
        log.info("link mail (%s) not queued: recipient limit reached", kind)
        return False
    try:
        get_queue().enqueue(MAIL_JOB, kind, user_id, email, priority="high")  # someone waits for it
    except QueueUnavailable as exc:
        log.error("link mail (%s) not queued: %s", kind, exc)
        return False
    return True


def write_link_mail(kind: str, user_id: int | None, email: str | None) -> Mail | None:
    """The link mail in the user's language, for the `mail_link` job to send; None when there is no one to
    send it to. A confirmation names its user; a reset names the address typed, looked up only here. Nothing
    goes to an address without an active account, nor a confirmation to an address confirmed while the mail
    waited in the queue."""
    if kind == CONFIRM:
        user = db.session.get(User, user_id) if user_id is not None else None
    elif kind == RESET:
        user = _user_by_email(email) if email else None
    else:
        raise ValueError(f"unknown link mail {kind!r}")
    if user is None or not user.active or (kind == CONFIRM and user.email_confirmed_at is not None):
        log.info("link mail (%s) not sent: no such active account, or already confirmed", kind)
        return None
    if kind == CONFIRM:
        link, template = _link("auth.confirm_email", token=make_token(CONFIRM, user)), "confirm"
        context = {"link": link, "hours": int(float(current_app.config["CONFIRM_LINK_HOURS"]))}
    else:
        link, template = _link("auth.reset_password", token=make_token(RESET, user)), "reset"
        context = {"link": link, "minutes": int(float(current_app.config["RESET_LINK_MINUTES"]))}
    with force_locale(_language(user)):
        subject = (_("Confirm your email address for TemoWeb Bots") if kind == CONFIRM
                   else _("Reset your TemoWeb Bots password"))
        text = render_template(f"emails/{template}.txt.html", **context)
        html = render_template(f"emails/{template}.html", **context)
    return Mail(user.email, subject, text, html)


# -- sign-up ------------------------------------------------------------------------------------------------

@bp.route("/signup", methods=["GET", "POST"])
def signup():  # type: ignore[no-untyped-def]
    if not signup_enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignupForm()
    if request.method == "GET":
        best = request.accept_languages.best_match(["en", "ru"])
        form.language.data = best or "en"
    if not form.validate_on_submit():
        return render_template("auth/signup.html", form=form), 400 if request.method == "POST" else 200
    email = form.email.data.strip().lower()
    if _user_by_email(email) is not None:
        form.email.errors = [_("An account with this email already exists: sign in or reset the password.")]
        return render_template("auth/signup.html", form=form), 400
    if not mail_throttle().may_ask(client_address()):
        flash(_("Too many sign-ups from your address. Try again later."), "danger")
        return render_template("auth/signup.html", form=form), 429
    try:
        tenant = create_tenant(form.business.data.strip(), current_app.config["SIGNUP_PLAN"], form.language.data)
    except Refused as exc:  # SIGNUP_PLAN names no plan: staff must fix the setting
        log.error("sign-up refused: SIGNUP_PLAN: %s", exc)
        flash(_("Sign-up is not available right now. Please try again later."), "danger")
        return render_template("auth/signup.html", form=form), 503
    try:
        user = create_user(email, form.password.data, tenant.id, False)
    except Refused:  # the same address signed up a moment ago, or the address is not one we can store
        db.session.delete(tenant)
        db.session.commit()
        form.email.errors = [_("An account with this email already exists: sign in or reset the password.")]
        return render_template("auth/signup.html", form=form), 400
    user.email_confirmed_at = None
    user.language = form.language.data
    db.session.commit()
    sent = _queue_link(CONFIRM, user.email, user.id)
    _sign_in(user)
    db.session.commit()
    if sent:
        flash(_("Welcome! We sent a confirmation link to %(email)s.", email=user.email), "success")
    return redirect(url_for("auth.confirm_notice"))


# -- email confirmation ---------------------------------------------------------------------------------

@bp.get("/confirm")
@login_required
def confirm_notice():  # type: ignore[no-untyped-def]
    if current_user.email_confirmed_at is not None:
        return redirect(home_for(current_user))
    return render_template("auth/confirm_notice.html", form=ResendForm(), mail_ready=mail_configured())


@bp.post("/confirm/resend")
@login_required
def confirm_resend():  # type: ignore[no-untyped-def]
    form = ResendForm()
    if not form.validate_on_submit() or current_user.email_confirmed_at is not None:
        return redirect(url_for("auth.confirm_notice"))
    if not mail_configured():
        flash(_("This server cannot send email yet. Ask support to confirm your address."), "warning")
    elif _queue_link(CONFIRM, current_user.email, current_user.id):
        flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
    else:
        flash(_("We could not send the link just now: a link was sent recently, or the mail server did not "
                "answer. Wait a few minutes and try again."), "warning")
    return redirect(url_for("auth.confirm_notice"))


@bp.get("/confirm/<token>")
def confirm_email(token: str):  # type: ignore[no-untyped-def]
    checked = check_token(CONFIRM, token)
    if checked.problem is not None or checked.user is None:
        return _refused("confirm", checked.problem or "invalid")
    checked.user.email_confirmed_at = utcnow()
    db.session.commit()
    flash(_("Your email address is confirmed."), "success")
    if current_user.is_authenticated and current_user.id == checked.user.id:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


def _refused(kind: str, problem: str):  # type: ignore[no-untyped-def]
    """The clear page for a link that cannot be used: expired and used links are 410 Gone, others 400."""
    status = 410 if problem in ("expired", "used") else 400
    return render_template("auth/link_refused.html", kind=kind, problem=problem), status


@bp.before_app_request
def _unconfirmed_notice() -> None:
    """An owner who has not confirmed their address sees a notice on every back-office page, with the way to
    get the link again. It is a flash shown by the page being rendered, at most one queued at a time."""
    if request.method != "GET" or request.blueprint not in NOTICE_BLUEPRINTS:
        return
    if not current_user.is_authenticated or current_user.is_staff or current_user.email_confirmed_at is not None:
        return
    text = escape(_("Please confirm your email address: follow the link we sent to %(email)s.",
                    email=current_user.email))
    link = Markup('<a href="{url}" class="alert-link">{label}</a>').format(
        url=url_for("auth.confirm_notice"), label=_("Send the link again"))
    notice = Markup("{} {}").format(text, link)
    if not any(message == notice for _category, message in session.get("_flashes", [])):
        flash(notice, "warning")


# -- password reset -------------------------------------------------------------------------------------

@bp.route("/reset", methods=["GET", "POST"])
def reset_request():  # type: ignore[no-untyped-def]
    form = ResetRequestForm()
    if not form.validate_on_submit():
        return render_template("auth/reset_request.html", form=form), 400 if request.method == "POST" else 200
    # The same page and the same work whoever the address belongs to: the job looks the address up.
    if mail_throttle().may_ask(client_address()):
        _queue_link(RESET, form.email.data.strip().lower())
    return render_template("auth/reset_sent.html", mail_ready=mail_configured())


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # type: ignore[no-untyped-def]
    checked = check_token(RESET, token)
    if checked.problem is not None or checked.user is None:
        return _refused("reset", checked.problem or "invalid")
    user = checked.user
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/reset_password.html", form=form), 400 if request.method == "POST" else 200
    user.set_password(form.password.data)  # a new hash: this link dies, and the version bump ends sessions
    if user.email_confirmed_at is None:  # the link reached the mailbox: that proves the address too
        user.email_confirmed_at = utcnow()
    record("password_changed", tenant_id=user.tenant_id, actor=user.email, target=user.email,
           details={"via": "reset link"})
    db.session.commit()
    _sign_in(user)
    record("login", tenant_id=user.tenant_id, actor=user.email, target=user.email,
           details={"via": "reset link"})
    db.session.commit()
    flash(_("Your password is changed. Other sessions were signed out."), "success")
    return redirect(home_for(user))
