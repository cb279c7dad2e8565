"""TemoWeb Bots back-office: the application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from flask_login import current_user

from . import crypto, inputs, security
from .config import INSTANCE_DIR, Config
from .extensions import babel, csrf, db, limiter, login_manager, migrate, oauth
from .sessions import CookieSessionInterface


def select_locale() -> str:
    """The user's choice, else the tenant's language, else the browser's preference."""
    languages = ["en", "ru"]
    if current_user and current_user.is_authenticated:
        if current_user.language in languages:
            return current_user.language
        if current_user.tenant is not None and current_user.tenant.language in languages:
            return current_user.tenant.language
    forced = getattr(g, "force_locale", None)
    if forced in languages:
        return forced
    return request.accept_languages.best_match(languages) or "en"


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    cfg = config if config is not None else Config()
    if isinstance(cfg, dict):
        app.config.update(cfg)
    else:
        app.config.from_object(cfg)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is required")
    app.session_interface = CookieSessionInterface()
    security.init_app(app)

    crypto.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(INSTANCE_DIR.parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    inputs.init_app(app)  # before any blueprint: its `int` URL converter applies to rules as they are added
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    oauth.init_app(app)

    # The factory imports what it wires up when it runs: the blueprints, admin and CLI import the models
    # and services, which import webapp.extensions from this package.
    from connectors.runtime import queue

    queue.init_app(app)
    if app.config.get("START_SWEEPER"):
        from connectors.pipeline.sweeper import start_sweeper

        start_sweeper(app)

    from . import api, auth, connect, dashboard, editor, errors, health, settings, webchat, webhooks

    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(connect.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(editor.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(webchat.bp)
    errors.init_app(app)

    from .admin import init_admin

    init_admin(app)

    from .cli import register_cli

    register_cli(app)

    @app.context_processor
    def _inject() -> dict[str, Any]:
        from flask_babel import get_locale

        return {"current_locale": str(get_locale())}

    return app

