"""Unbound extensions: created here, bound to an app in create_app()."""

import threading
from collections.abc import Callable
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .security import client_address


class Base(DeclarativeBase):
    pass


# Objects keep their loaded values after a commit: code that needs fresh rows asks for them (the pipeline
# commits several times per message and must not reload everything it already has).
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
oauth = OAuth()
limiter = Limiter(key_func=client_address, default_limits=[])  # per address; IPv6 per /64


_per_app_lock = threading.Lock()


def per_app(key: str, build: Callable[[], Any]) -> Any:
    """The current app's `app.extensions[key]`, built by `build()` on first use, once even when threads race
    (None is a valid value). One per app: two apps in one process never share it."""
    ext = current_app.extensions
    if key not in ext:
        with _per_app_lock:
            if key not in ext:
                ext[key] = build()
    return ext[key]
