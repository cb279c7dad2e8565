"""The one-time links mailed to people: email confirmation and password reset.

A link carries a token signed with the app's SECRET_KEY (itsdangerous, one salt per purpose so a
confirmation token can never be replayed as a reset token) and the time it was signed; it expires after
CONFIRM_LINK_HOURS / RESET_LINK_MINUTES. Nothing is stored for it. Single use comes from what the token
binds: a confirmation token names a user who is not confirmed yet, so once confirmed it is refused; a
reset token binds a digest of the user's current password hash, and setting a new password (which always
gets a fresh salt) changes that hash, so the link dies with its first use and with any other password
change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from ..extensions import db
from ..models import User

CONFIRM = "email-confirm"
RESET = "password-reset"


@dataclass(frozen=True)
class Checked:
    """What a link's token turned out to be: the user it names, or why it is refused."""

    user: User | None
    problem: str | None = None  # "invalid", "expired", "used"


def _serializer(purpose: str, issued_at: float | None = None) -> URLSafeTimedSerializer:
    signer: type[TimestampSigner] = TimestampSigner
    if issued_at is not None:
        at = int(issued_at)

        class _SignedAt(TimestampSigner):
            """Signs with a given time: tests make links that are already old without waiting or patching."""

            def get_timestamp(self) -> int:
                return at

        signer = _SignedAt
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose, signer=signer)


def password_digest(user: User) -> str:
    """A short digest of the password hash: binds a reset link without putting the hash in a URL."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def make_token(purpose: str, user: User, issued_at: float | None = None) -> str:
    payload: dict[str, Any] = {"u": user.id, "e": user.email}
    if purpose == RESET:
        payload["p"] = password_digest(user)
    return _serializer(purpose, issued_at).dumps(payload)


def max_age(purpose: str) -> int:
    config = current_app.config
    if purpose == CONFIRM:
        return int(float(config["CONFIRM_LINK_HOURS"]) * 3600)
    return int(float(config["RESET_LINK_MINUTES"]) * 60)


def check_token(purpose: str, token: str) -> Checked:
    """The user a still-valid token names. Expired is told apart from forged or mangled, so the page can
    say "ask for a new link"; a token that was already used is "used"."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except SignatureExpired:
        return Checked(None, "expired")
    except BadSignature:
        return Checked(None, "invalid")
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return Checked(None, "invalid")
    user = db.session.scalar(select(User).where(User.id == payload["u"]))
    if user is None or not user.active or user.email != payload.get("e"):
        return Checked(None, "invalid")
    if purpose == CONFIRM and user.email_confirmed_at is not None:
        return Checked(user, "used")
    if purpose == RESET and payload.get("p") != password_digest(user):
        return Checked(None, "used")
    return Checked(user)
