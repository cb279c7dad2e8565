"""Errors answer JSON for API/webhook clients and a page for people; never a bare 500 for bad input."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/", "/webchat/")) or request.is_json


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):  # type: ignore[no-untyped-def]
        from flask_login import current_user

        if _wants_json():
            if request.path.startswith("/api/") and not current_user.is_authenticated:
                return jsonify(error="Your session has ended: sign in again."), 401
            return jsonify(error=f"CSRF check failed: {exc.description}"), 400
        return render_template("error.html", code=400, message=exc.description), 400

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            return jsonify(error=exc.description or exc.name), exc.code
        return render_template("error.html", code=exc.code, message=exc.description), exc.code
