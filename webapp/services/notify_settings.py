"""Where a tenant's notifications go: per event type the destinations it chose, the addresses they go to,
the linked Telegram chat and the webhook's signing secret.

Everything but the secret lives in `Tenant.settings["notifications"]` (plain JSON: nothing in it grants
anything); the signing secret lives in `Tenant.notify_secrets` (encrypted) and is shown once, when made.
Until a tenant saves its choices, email goes out for the events an owner cannot miss, if the platform can
send mail at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Tenant, User
from ..models.base import as_utc, utcnow
from .mail import mail_configured

DESTINATIONS = ("telegram", "email", "webhook")
KEY = "notifications"
DEFAULT_EMAIL_EVENTS = ("lead", "handoff", "reconnect", "reply_problem", "quota")
LINK_CODE_FOR = timedelta(minutes=30)


def prefs(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The tenant's notification settings (a copy: JSON columns are not mutation-tracked)."""
    return dict((settings or {}).get(KEY) or {})


def chosen(settings: dict[str, Any] | None, event_type: str) -> list[str]:
    """The destinations ticked for an event type (the defaults until the tenant saved its own)."""
    stored = prefs(settings)
    if "events" in stored:
        return [d for d in stored["events"].get(event_type, []) if d in DESTINATIONS]
    return ["email"] if event_type in DEFAULT_EMAIL_EVENTS and mail_configured() else []


def destinations_for(settings: dict[str, Any] | None, event_type: str) -> list[str]:
    """The chosen destinations that can be reached: a linked chat, a webhook URL (email always has the
    owner's address to fall back on)."""
    stored = prefs(settings)
    usable = {"email": True, "telegram": bool(stored.get("telegram_chat_id")),
              "webhook": bool(stored.get("webhook_url"))}
    return [d for d in chosen(settings, event_type) if usable[d]]


def owner_email(tenant_id: int) -> str | None:
    return db.session.scalar(select(User.email).where(User.tenant_id == tenant_id, User.role == "owner")
                             .order_by(User.id).limit(1))


def email_address(tenant: Tenant) -> str | None:
    return prefs(tenant.settings).get("email") or owner_email(tenant.id)


def _store(tenant: Tenant, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into the tenant's notification settings; a None value removes its key."""
    stored = {**prefs(tenant.settings), **changes}
    tenant.settings = {**(tenant.settings or {}), KEY: {k: v for k, v in stored.items() if v is not None}}
    return stored


def save_choices(tenant: Tenant, events: dict[str, list[str]], email: str | None, webhook_url: str | None) -> None:
    """The settings form's choices; an empty address or URL is removed (email falls back to the owner's)."""
    _store(tenant, events={k: [d for d in v if d in DESTINATIONS] for k, v in events.items()},
           email=email or None, webhook_url=webhook_url or None)


def new_webhook_secret(tenant: Tenant) -> str:
    """A fresh signing secret (the old one stops working at once); the caller shows it once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    tenant.notify_secrets = {**(tenant.notify_secrets or {}), "webhook": secret}
    return secret


def webhook_secret(tenant: Tenant) -> str | None:
    return (tenant.notify_secrets or {}).get("webhook")


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_link_code(tenant: Tenant) -> str:
    """A one-time code for `/start <code>` in the platform bot's chat (Telegram allows 64 characters of
    A-Z a-z 0-9 _ -); only its hash is kept, for LINK_CODE_FOR."""
    code = f"{tenant.id}_{secrets.token_urlsafe(18)}"
    _store(tenant, telegram_code=_digest(code), telegram_code_until=(utcnow() + LINK_CODE_FOR).isoformat())
    return code


def link_chat(code: str, chat_id: int, chat_title: str) -> Tenant | None:
    """The tenant whose unexpired code this is, now linked to `chat_id` (the code is used up); else None."""
    tenant_part, _, _rest = code.partition("_")
    if not tenant_part.isdigit() or len(tenant_part) > 9:
        return None
    tenant = db.session.get(Tenant, int(tenant_part), with_for_update={"of": Tenant})  # one use, even at once
    if tenant is None:
        return None
    stored = prefs(tenant.settings)
    until = stored.get("telegram_code_until")
    if not stored.get("telegram_code") or not hmac.compare_digest(stored["telegram_code"], _digest(code)):
        return None
    if not until or as_utc(datetime.fromisoformat(until)) < utcnow():  # type: ignore[operator]
        return None
    _store(tenant, telegram_chat_id=chat_id, telegram_chat_title=chat_title[:120], telegram_code=None,
           telegram_code_until=None)
    return tenant


def unlink_chat(tenant: Tenant) -> None:
    tenant.settings = {**(tenant.settings or {}), KEY: {k: v for k, v in prefs(tenant.settings).items()
                                                        if not k.startswith("telegram_")}}
