"""Sign-in for tenant members and staff.

A session is bound to the user's `session_version`: signing out (or a new password) bumps the version,
so every cookie issued before, including a copy kept by someone else, stops signing anyone in. Failed
sign-ins are throttled per (account, address) pair and per address (throttle.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import event, func, select, update

from ..extensions import db, login_manager
from ..models import User
from ..models.base import utcnow
from ..security import client_address
from ..services.audit import record, record_now
from .blueprint import bp
from .forms import LanguageForm, LoginForm
from .throttle import throttle

SESSION_VERSION_KEY = "_session_version"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Every request that asks who is signed in comes here (pages, the API, /admin): a session whose
    version is not the user's current one, or of a deactivated user, signs no one in."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or session.get(SESSION_VERSION_KEY) != user.session_version:
        return None
    return user


@event.listens_for(User.password_hash, "set", active_history=True)
def _password_changed(user: User, value: str, old: Any, initiator: Any) -> None:
    """A new password (admin panel, CLI, any later path) ends the user's existing sessions."""
    if isinstance(old, str) and value != old and user.session_version is not None:
        user.session_version += 1


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would let a phishing link borrow our login page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def home_for(user: User) -> str:
    return url_for("admin.index") if user.is_staff else url_for("dashboard.home")


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return _("%(seconds)d s", seconds=seconds)
    return _("%(minutes)d min", minutes=-(-seconds // 60))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address, guard = client_address(), throttle()
        wait = guard.wait(email, address)
        if wait:
            flash(_("Too many failed sign-ins. Try again in %(wait)s.", wait=_wait_text(wait)), "danger")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None or not user.check_password(form.password.data) or not user.active:
            guard.failed(email, address)
            # Committed on its own: this request ends in an error. The email typed, never the password.
            record_now("login_failed", tenant_id=user.tenant_id if user else None, actor="anonymous",
                       target=email[:255], details={"email": email[:254]})
            flash(_("Wrong email or password."), "danger")
            return render_template("auth/login.html", form=form), 401
        guard.succeeded(email, address)
        # "Keep me signed in" keeps this session cookie (PERMANENT_SESSION_LIFETIME) instead of setting
        # Flask-Login's remember cookie, which carries only the user id and would outlive a sign-out.
        login_user(user)
        session.permanent = bool(form.remember.data)
        session[SESSION_VERSION_KEY] = user.session_version
        user.last_login_at = utcnow()
        record("login", tenant_id=user.tenant_id, actor=user.email, target=user.email)
        db.session.commit()
        return redirect(safe_next(request.args.get("next")) or home_for(user))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    """Signs this user out everywhere: the version bump refuses every session cookie issued so far."""
    db.session.execute(update(User).where(User.id == current_user.id)
                       .values(session_version=User.session_version + 1))
    record("logout", tenant_id=current_user.tenant_id, target=current_user.email)
    db.session.commit()
    logout_user()
    session.pop(SESSION_VERSION_KEY, None)
    return redirect(url_for("auth.login"))


@bp.post("/language")
@login_required
def set_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    if form.validate_on_submit():
        current_user.language = form.language.data
        db.session.commit()
    return redirect(safe_next(request.form.get("next")) or home_for(current_user))


@bp.app_errorhandler(429)
def too_many(exc):  # type: ignore[no-untyped-def]
    from flask import jsonify

    return jsonify(error=f"rate limit exceeded: {exc.description}"), 429
