"""A loopback fake of Meta's login pages and Instagram's code exchange (PROTOCOLS.md §6).

Serves what a browser and our server meet during a connect round trip, over real HTTP:

- ``GET /oauth/authorize`` (Business Login for Instagram) and ``GET /{v}/dialog/oauth`` (Facebook Login for
  Business): a consent page with "Allow" and "Cancel" links. Allow redirects to ``redirect_uri`` with a
  fresh single-use ``code`` (Instagram's with the documented ``#_`` appended) and the ``state``; Cancel
  with ``error=access_denied&error_reason=user_denied&error_description=…``, as Meta does.
- ``POST /oauth/access_token`` (api.instagram.com): form-encoded code → short-lived token, answered in the
  documented ``{"data": [{access_token, user_id, permissions}]}`` shape, or flat (``flat_token = True``)
  as some clients see it; errors in Instagram's own shape (``error_type``, ``code``, ``error_message``).

Programmable: ``granted`` (the permissions the person leaves ticked), ``expire_codes()`` (every code
issued so far has expired), ``fail_token(status)`` (inherited ``fail``). The Facebook code exchange and
everything after it are the Graph fake's (tests/fakes/graph_api.py).
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any
from urllib.parse import urlencode

from tests.fakes.server import FakeServer, RecordedRequest, Reply

_DIALOG = re.compile(r"^/v\d+\.\d+/dialog/oauth$")
APP_SCOPED_ID = "9000000000000001"


class FakeMetaLogin(FakeServer):
    """See the module docstring. ``client_id``/``client_secret`` are what the token endpoint accepts."""

    def __init__(self, client_id: str = "test-ig-app-id", client_secret: str = "test-ig-app-secret") -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self.granted: list[str] | None = None  # None: every permission asked for
        self.flat_token = False
        self.codes: dict[str, dict[str, Any]] = {}  # code → {redirect_uri, scope, used, expired}
        self._ids = itertools.count(1)

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/access_token"

    def expire_codes(self) -> None:
        for code in self.codes.values():
            code["expired"] = True

    def error_body(self, status: int, **error: Any) -> Any:
        return {"error_type": "OAuthException", "code": status,
                "error_message": error.get("message") or "An unknown error has occurred."}

    # --- routing -------------------------------------------------------------------------------------
    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and (request.path == "/oauth/authorize" or _DIALOG.match(request.path)):
            return self._authorize(request, instagram=request.path == "/oauth/authorize")
        if request.method == "POST" and request.path == "/oauth/access_token":
            return self._token(request)
        return 404, {"error_type": "NotFound", "code": 404, "error_message": "no such page"}, {}

    def _authorize(self, request: RecordedRequest, *, instagram: bool) -> Reply:
        params = request.params
        if not params.get("redirect_uri") or params.get("response_type") != "code" or not params.get("client_id"):
            return 400, b"<p>Invalid request: redirect_uri, client_id and response_type=code are required</p>", \
                {"Content-Type": "text/html"}
        if params.get("decision") in ("allow", "deny"):
            return self._decide(params, instagram=instagram)
        link = f"{request.path}?{urlencode({**params, 'decision': 'allow'})}"
        cancel = f"{request.path}?{urlencode({**params, 'decision': 'deny'})}"
        who = "Instagram" if instagram else "Facebook"
        page = (f"<!doctype html><title>{who} consent</title><h1>{who}: allow Fake App?</h1>"
                f"<p data-testid='scope'>{html.escape(params.get('scope', ''))}</p>"
                f"<a id='allow' href='{html.escape(link)}'>Allow</a> "
                f"<a id='cancel' href='{html.escape(cancel)}'>Cancel</a>")
        return 200, page.encode(), {"Content-Type": "text/html; charset=utf-8"}

    def _decide(self, params: dict[str, Any], *, instagram: bool) -> Reply:
        redirect_uri, state = params["redirect_uri"], params.get("state", "")
        if params["decision"] == "deny":
            query = urlencode({"error": "access_denied", "error_reason": "user_denied",
                               "error_description": "Permissions error", "state": state})
            return 302, b"", {"Location": f"{redirect_uri}?{query}"}
        code = f"{'IG' if instagram else 'FB'}-CODE-{next(self._ids)}"
        self.codes[code] = {"redirect_uri": redirect_uri, "scope": params.get("scope", ""), "used": False,
                            "expired": False}
        suffix = "#_" if instagram else ""
        return 302, b"", {"Location": f"{redirect_uri}?{urlencode({'code': code, 'state': state})}{suffix}"}

    def _token(self, request: RecordedRequest) -> Reply:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 400, self.error_body(400, message="Invalid platform app"), {}
        if form.get("grant_type") != "authorization_code":
            return 400, self.error_body(400, message="Invalid grant_type"), {}
        issued = self.codes.get(form.get("code", ""))
        if issued is None:
            return 400, self.error_body(400, message="Invalid authorization code"), {}
        if issued["expired"]:
            return 400, self.error_body(400, message="This authorization code has expired"), {}
        if issued["used"]:
            return 400, self.error_body(400, message="This authorization code has been used"), {}
        if form.get("redirect_uri") != issued["redirect_uri"]:
            return 400, self.error_body(400, message="Error validating verification code. Please make sure "
                                                     "your redirect_uri is identical"), {}
        issued["used"] = True
        asked = [s for s in re.split(r"[,\s]+", issued["scope"]) if s]
        permissions = ",".join(self.granted if self.granted is not None else asked)
        token = {"access_token": f"IG-SHORT-{next(self._ids)}", "user_id": APP_SCOPED_ID,
                 "permissions": permissions}
        return 200, token if self.flat_token else {"data": [token]}, {}
