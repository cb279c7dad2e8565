"""Configuration read from the environment when an app is created (never at import time)."""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _number(name: str, default: str, kind: type[int] | type[float] = int, minimum: float = 0) -> Any:
    """A numeric setting; a value that is not a number, or below `minimum`, stops the start with a message
    naming it."""
    value = _env(name, default) or default
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < minimum:
        what = "a whole number" if kind is int else "a number"
        raise RuntimeError(f"{name} must be {what} of at least {minimum:g}, not {value!r}")
    return number


def _rate_limit(name: str, default: str) -> str:
    """A rate limit in the `limits` notation ("30 per hour;100 per day"); a bad one stops the start."""
    from limits import parse_many

    value = _env(name, default) or default
    try:
        parse_many(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a rate limit such as '30 per hour;100 per day', not {value!r}") from None
    return value


def _flag(name: str, default: str) -> bool:
    """An on/off setting: 1/true/yes/on or 0/false/no/off; anything else stops the start with a message."""
    value = (_env(name, default) or default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name} must be 1 or 0, not {value!r}")


def _allowed_networks(name: str) -> bool | tuple[Any, ...]:
    """`0` (default): none; `1`: every address; else comma-separated networks (`10.1.0.0/16,fd00::/8`)."""
    import ipaddress

    value = (_env(name) or "0").strip().lower()
    if value in ("0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    except ValueError:
        raise RuntimeError(f"{name} must be 0, 1 or networks such as 10.1.0.0/16,fd00::/8, not {value!r}") from None


def _normalise_db_url(url: str) -> str:
    """Accept the common `postgres://` / `postgresql://` spellings and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _instance_secret(name: str) -> str:
    """A development secret kept in instance/ so sessions survive restarts without configuration."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    path = INSTANCE_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Config:
    """Settings for a running app. Production refuses to start without its secrets."""

    ENV_NAME = "development"
    TESTING = False

    def __init__(self) -> None:
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        self.ENV_NAME = _env("APP_ENV", self.ENV_NAME) or self.ENV_NAME
        production = self.ENV_NAME == "production"

        self.SECRET_KEY = _env("SECRET_KEY") or (None if production else _instance_secret("secret_key"))
        self.TOKEN_ENCRYPTION_KEY = _env("TOKEN_ENCRYPTION_KEY")
        db_url = _env("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'temoweb.sqlite3'}"
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(db_url)
        # A pooled connection is pinged when taken out; one the server dropped is replaced unseen.
        self.SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            self.SQLALCHEMY_ENGINE_OPTIONS.update(pool_size=_number("DB_POOL_SIZE", "10"),
                                                  max_overflow=_number("DB_MAX_OVERFLOW", "20"))
        self.REDIS_URL = _env("REDIS_URL")
        self.PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL", "http://127.0.0.1:5000") or "").rstrip("/")

        self.META_APP_ID = _env("META_APP_ID", "")
        self.META_APP_SECRET = _env("META_APP_SECRET", "")
        self.INSTAGRAM_APP_SECRET = _env("INSTAGRAM_APP_SECRET", "")
        self.META_VERIFY_TOKEN = _env("META_VERIFY_TOKEN", "")
        self.META_GRAPH_URL = _env("META_GRAPH_URL", "https://graph.facebook.com")
        self.INSTAGRAM_GRAPH_URL = _env("INSTAGRAM_GRAPH_URL", "https://graph.instagram.com")
        self.META_GRAPH_VERSION = _env("META_GRAPH_VERSION", "v21.0")
        # Self-service connect pages (webapp/connect): Business Login for Instagram (its own app id), Facebook
        # Login for Business and WhatsApp Embedded Signup (their configuration ids from the app dashboard);
        # every base URL is configuration, so tests point them at loopback fakes.
        self.INSTAGRAM_APP_ID = _env("INSTAGRAM_APP_ID", "")
        self.INSTAGRAM_AUTHORIZE_URL = _env("INSTAGRAM_AUTHORIZE_URL", "https://www.instagram.com/oauth/authorize")
        self.INSTAGRAM_TOKEN_URL = _env("INSTAGRAM_TOKEN_URL", "https://api.instagram.com/oauth/access_token")
        self.FACEBOOK_DIALOG_URL = _env("FACEBOOK_DIALOG_URL", "https://www.facebook.com")
        self.FACEBOOK_LOGIN_CONFIG_ID = _env("FACEBOOK_LOGIN_CONFIG_ID", "")
        self.WHATSAPP_SIGNUP_CONFIG_ID = _env("WHATSAPP_SIGNUP_CONFIG_ID", "")
        self.FACEBOOK_SDK_URL = _env("FACEBOOK_SDK_URL", "https://connect.facebook.net/en_US/sdk.js")
        self.TELEGRAM_API_URL = _env("TELEGRAM_API_URL", "https://api.telegram.org")
        # The platform's notification bot (connectors/notify/telegram_bot.py): owners link their chat with
        # `/start <code>` (its username makes the t.me link); Telegram echoes the secret on every update it
        # posts to /webhooks/notify-bot (set with setWebhook, docs/deploy.md). No token: no Telegram option.
        self.NOTIFY_TELEGRAM_TOKEN = _env("NOTIFY_TELEGRAM_TOKEN", "") or ""
        self.NOTIFY_TELEGRAM_BOT = (_env("NOTIFY_TELEGRAM_BOT", "") or "").lstrip("@")
        self.NOTIFY_TELEGRAM_SECRET = _env("NOTIFY_TELEGRAM_SECRET", "") or ""
        self.OPENAI_API_KEY = _env("OPENAI_API_KEY", "")
        self.OPENAI_BASE_URL = _env("OPENAI_BASE_URL")
        self.OPENAI_MODEL = _env("OPENAI_MODEL", "gpt-4o-mini")
        self.OUTBOUND_TIMEOUT = _number("OUTBOUND_TIMEOUT", "10", float, minimum=0.1)
        # http_request nodes call public addresses only, unless this allows private ones (tests, self-hosted
        # integrations): 1 = any, or the networks they may call (connectors/pipeline/integration_http.py)
        self.HTTP_REQUEST_ALLOW_PRIVATE = _allowed_networks("HTTP_REQUEST_ALLOW_PRIVATE")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = production
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = production
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # larger bodies get a 413 (Meta batches stay far below)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.RATELIMIT_HEADERS_ENABLED = True
        # Redis down: limits are counted in this process's memory (and logged) instead of answering 500;
        # a storage that hangs gives up after 2 s rather than holding the request.
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
        self.RATELIMIT_SWALLOW_ERRORS = True
        self.RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
        # Sign-in throttling (webapp/auth/throttle.py): after LOGIN_FREE_FAILURES failed sign-ins for one
        # account from one address, that pair waits 2, 4, 8 ... s (at most LOGIN_MAX_DELAY) between tries;
        # LOGIN_ADDRESS_LIMIT caps the failed sign-ins of one address across all accounts.
        self.LOGIN_FREE_FAILURES = _number("LOGIN_FREE_FAILURES", "5")
        self.LOGIN_MAX_DELAY = _number("LOGIN_MAX_DELAY", "900", minimum=1)
        self.LOGIN_ADDRESS_LIMIT = _rate_limit("LOGIN_ADDRESS_LIMIT", "30 per hour;100 per day")
        # Outgoing mail (webapp/services/mail.py): no SMTP_HOST = mail is logged as not sent, never an error.
        self.SMTP_HOST = _env("SMTP_HOST", "") or ""
        self.SMTP_SSL = _flag("SMTP_SSL", "0")  # implicit TLS (port 465)
        self.SMTP_STARTTLS = _flag("SMTP_STARTTLS", "0" if self.SMTP_SSL else "1")
        self.SMTP_PORT = _number("SMTP_PORT", "465" if self.SMTP_SSL else "587", minimum=1)
        self.SMTP_USER = _env("SMTP_USER", "") or ""
        self.SMTP_PASSWORD = _env("SMTP_PASSWORD", "") or ""
        self.SMTP_TIMEOUT = _number("SMTP_TIMEOUT", "10", float, minimum=0.1)
        self.MAIL_FROM = _env("MAIL_FROM", "TemoWeb Bots <no-reply@localhost>")
        # Self-service sign-up (webapp/auth/signup.py) and the links mailed for it and for password resets.
        self.SIGNUP_ENABLED = _flag("SIGNUP_ENABLED", "1")
        self.SIGNUP_PLAN = (_env("SIGNUP_PLAN", "START") or "START").upper()
        self.CONFIRM_LINK_HOURS = _number("CONFIRM_LINK_HOURS", "48", float, minimum=0.01)
        self.RESET_LINK_MINUTES = _number("RESET_LINK_MINUTES", "60", float, minimum=1)
        self.INVITE_LINK_HOURS = _number("INVITE_LINK_HOURS", "72", float, minimum=0.01)  # team invitations
        # Mails with a link that one recipient may be sent, and that one client address may cause (sign-ups,
        # resets, "send the link again"): more are not sent, and the answer does not say so for resets.
        self.MAIL_RECIPIENT_LIMIT = _rate_limit("MAIL_RECIPIENT_LIMIT", "1 per minute;5 per hour;20 per day")
        self.MAIL_CLIENT_LIMIT = _rate_limit("MAIL_CLIENT_LIMIT", "10 per hour;50 per day")
        # Reverse proxies in front of the app that append to X-Forwarded-For / set X-Forwarded-Proto
        # (werkzeug ProxyFix); 0 = the socket's peer is the client.
        self.TRUSTED_PROXIES = _number("TRUSTED_PROXIES", "0")
        self.WEBCHAT_RATE_LIMIT = _env("WEBCHAT_RATE_LIMIT", "30 per minute")
        self.BABEL_DEFAULT_LOCALE = "en"
        self.LANGUAGES = ["en", "ru"]
        self.START_SWEEPER = _env("START_SWEEPER", "0") == "1"
        # Seconds between sweeps, and without a heartbeat before a worker counts as dead: its events are run
        # again and its contact locks expire (connectors/pipeline/liveness.py, sweeper.py).
        self.SWEEP_INTERVAL = _number("SWEEP_INTERVAL", "10", float, minimum=0.5)
        self.WORKER_DEAD_AFTER = _number("WORKER_DEAD_AFTER", "20", float, minimum=2)
        # Events one webhook delivery may carry (Meta batches at most 1,000); more: 413, nothing stored.
        self.WEBHOOK_MAX_EVENTS = _number("WEBHOOK_MAX_EVENTS", "1000", minimum=1)
        # Per worker process: jobs doing CPU/database work at once, between waits (connectors/run_slots.py);
        # 0 = no limit.
        self.WORKER_RUN_SLOTS = _number("WORKER_RUN_SLOTS", "2")
        self.QUEUE_PREFIX = _env("QUEUE_PREFIX", "") or ""
        for key, value in os.environ.items():  # connector knobs (timeouts, retries, rate-limit storage)
            if key.startswith("CONNECTOR_") and value:
                setattr(self, key, value)

        if production:
            missing = [k for k in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL")
                       if not _env(k)]
            if missing:
                raise RuntimeError(
                    "Production configuration is incomplete: set " + ", ".join(missing)
                    + " (see README, Configuration)."
                )


class TestConfig(Config):
    """Tests: the database comes from TEST_DATABASE_URL / DATABASE_URL or a temporary SQLite file."""

    ENV_NAME = "test"
    TESTING = True

    def __init__(self, database_url: str | None = None, redis_url: str | None = None) -> None:
        super().__init__()
        self.ENV_NAME = "test"
        self.TESTING = True
        self.SECRET_KEY = "test-secret-key"
        if database_url:
            self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(database_url)
        self.REDIS_URL = redis_url
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.META_APP_SECRET = "test-app-secret"
        self.INSTAGRAM_APP_SECRET = "test-ig-app-secret"
        self.META_VERIFY_TOKEN = "test-verify-token"
        self.META_APP_ID = "test-app-id"
        self.INSTAGRAM_APP_ID = "test-ig-app-id"
        self.FACEBOOK_LOGIN_CONFIG_ID = "test-login-config"
        self.WHATSAPP_SIGNUP_CONFIG_ID = "test-signup-config"
        self.OPENAI_API_KEY = ""
        self.PUBLIC_BASE_URL = "https://bots.example.test"
        self.WTF_CSRF_ENABLED = True
        self.START_SWEEPER = False
        self.SMTP_HOST = ""  # tests that send mail point this at their own loopback server
