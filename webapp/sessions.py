"""Flask's signed-cookie session, minus the work for requests that carry no session cookie.

Flask builds an itsdangerous serializer (key derivation included) for every request before it even looks
for a cookie, and reads six cookie settings before it sees that an untouched empty session needs no
Set-Cookie. Webhooks, web-chat polls and health checks never carry the cookie, and they are most of our
requests, so both are skipped when there is nothing to read or write. Behaviour is otherwise Flask's own.
"""

from __future__ import annotations

from typing import Any

from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin


class CookieSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app: Any, request: Any) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Any, session: SessionMixin, response: Any) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
