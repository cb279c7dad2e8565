"""A loopback fake of the Meta Graph API (graph.facebook.com and graph.instagram.com paths).

Usage::

    with FakeGraphAPI() as fake:          # or the ``graph_api`` pytest fixture
        config = fake.config()            # ConnectorConfig with both Meta hosts pointed here
        ...send...
        req = fake.last                   # RecordedRequest(method, path, query, headers, json, ...)
        assert req.path == "/v21.0/me/messages"
        assert req.header("Authorization") == "Bearer TOKEN"

Programmable::

    fake.fail(times=2, status=429)                # rate limited twice (Graph error code 4), then OK
    fake.fail(status=500, times=None)             # always 500 (code 2, is_transient)
    fake.fail(status=400, code=131047)            # any Graph error code (here: outside the 24 h window)
    fake.fail_token()                             # next call: code 190 (expired token)
    fake.expire_token("TOKEN")                    # that token gets 190 until further notice
    fake.delay(2.0, times=1)                      # stall one request (client timeouts)

Served (``{v}`` is any ``vNN.N``): ``POST /{v}/me/messages`` and ``/{v}/{id}/messages`` (Instagram DM,
private reply, or WhatsApp when the body has ``messaging_product``), ``POST /{v}/{comment}/replies``,
``GET /{v}/me``, ``GET /{v}/me/accounts``, ``POST|GET|DELETE /{v}/{id}/subscribed_apps``,
``POST /{v}/{pnid}/register``, ``/oauth/access_token``, ``/{v}/oauth/access_token``, ``/access_token``,
``/refresh_access_token`` (a GET with ``grant_type=ig_refresh_token``: a new token, or 190 for an expired
one; ``fake.refreshed`` lists the tokens refreshed). A second private reply to the same comment fails with
code 10900, like Meta.

WhatsApp set-up (Embedded Signup, the manual form, the template picker): ``GET /{v}/{pnid}`` asking for
``display_phone_number``/``verified_name`` answers the number from ``fake.wa_numbers`` (pnid → its WABA,
display number, verified name; a number not listed gets a made-up one, as sends to any number succeed; any
other GET /{v}/{id} answers as Instagram's /me), ``GET
/{v}/{waba}/phone_numbers`` lists that WABA's numbers, ``GET /{v}/{waba}/message_templates`` pages through
``fake.templates`` (``limit`` per page, ``paging.next`` with an ``after`` cursor; ``status`` filters), and
``POST /{v}/{pnid}/register`` wants ``messaging_product=whatsapp`` and a 6-digit ``pin``
(``fake.registered`` maps pnid → the PIN). A WABA no listed number belongs to answers code 100 subcode 33,
as Meta does for an id the token may not see.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any
from urllib.parse import urlencode

from connectors.channels.events import ConnectorConfig
from tests.fakes.server import FakeServer, RecordedRequest, Reply

_VERSIONED = re.compile(r"^/(v\d+\.\d+)(/.*)$")
#: The WhatsApp number and business account the fake knows by default, and its approved templates.
WA_WABA_ID = "102290129340398"
WA_PHONE_NUMBER_ID = "106540352242922"
WA_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"id": "1001", "name": "welcome_back", "language": "en_US", "status": "APPROVED", "category": "MARKETING"},
    {"id": "1002", "name": "order_update", "language": "ru", "status": "APPROVED", "category": "UTILITY"},
    {"id": "1003", "name": "draft_offer", "language": "en_US", "status": "PENDING", "category": "MARKETING"},
)
_WA_PHONE_FIELDS = frozenset({"display_phone_number", "verified_name"})
#: The Send API's messaging types (Messenger and Instagram DMs).
SEND_API_MESSAGING_TYPES = frozenset({"RESPONSE", "UPDATE", "MESSAGE_TAG"})
_ERROR_DEFAULTS: dict[int, tuple[int, str]] = {
    400: (100, "Invalid parameter"),
    401: (190, "Error validating access token: Session has expired"),
    403: (10, "Application does not have permission for this action"),
    404: (803, "Some of the aliases you requested do not exist"),
    429: (4, "(#4) Application request limit reached"),
    500: (2, "An unexpected error has occurred. Please retry your request later."),
    503: (2, "Service temporarily unavailable"),
}


def graph_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False,
                details: str | None = None) -> dict[str, Any]:
    """The documented Graph error envelope."""
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                             "fbtrace_id": "AFakeTraceId"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    if details:
        error["error_data"] = {"details": details}
    return {"error": error}


class FakeGraphAPI(FakeServer):
    """Graph API fake; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, ig_user_id: str = "17841400000000001",
                 username: str = "fake_shop") -> None:
        super().__init__(host, port)
        self.ig_user_id = ig_user_id
        self.username = username
        self.expired_tokens: set[str] = set()
        self.private_replied: set[str] = set()
        self.subscriptions: dict[str, list[str]] = {}
        self.refreshed: list[str] = []  # tokens refreshed through GET /refresh_access_token, in order
        self.used_codes: set[str] = set()
        #: What GET /me/accounts answers: the Pages the person manages (a test may empty it, or drop a
        #: Page's instagram_business_account)
        self.pages: list[dict[str, Any]] = [
            {"id": "100000000000001", "name": "Fake Page", "access_token": "FAKE-PAGE-TOKEN",
             "instagram_business_account": {"id": ig_user_id, "username": username}}]
        #: WhatsApp numbers the fake knows: pnid → {"waba_id", "display_phone_number", "verified_name"}
        self.wa_numbers: dict[str, dict[str, str]] = {WA_PHONE_NUMBER_ID: {
            "waba_id": WA_WABA_ID, "display_phone_number": "+1 555-010-0001", "verified_name": "Fake Salon"}}
        #: Every WABA's message templates (any WABA id the fake knows answers them)
        self.templates: list[dict[str, Any]] = [dict(t) for t in WA_TEMPLATES]
        self.registered: dict[str, str] = {}  # pnid → the PIN POST /{pnid}/register was given
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()

    def config(self, **overrides: Any) -> ConnectorConfig:
        """A ConnectorConfig pointing both Meta hosts here, with fast backoff for tests."""
        values: dict[str, Any] = {"meta_graph_url": self.url, "instagram_graph_url": self.url,
                                  "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5.0}
        values.update(overrides)
        return ConnectorConfig(**values)

    # --- programming ---------------------------------------------------------------------------------
    def error_body(self, status: int, code: int | None = None, message: str | None = None,
                   subcode: int | None = None, **_: Any) -> dict[str, Any]:
        default_code, default_message = _ERROR_DEFAULTS.get(status, (1, "An unknown error has occurred."))
        return graph_error(code if code is not None else default_code, message or default_message,
                           subcode=subcode, transient=status >= 500 or status == 429)

    def fail_token(self, times: int | None = 1) -> None:
        """Next ``times`` calls answer code 190 (what an expired/revoked token gets)."""
        self.fail(status=400, times=times, code=190, subcode=463,
                  message="Error validating access token: Session has expired")

    def expire_token(self, token: str) -> None:
        self.expired_tokens.add(token)

    @property
    def messages(self) -> list[RecordedRequest]:
        """Every send (IG DM / private reply / WhatsApp message) recorded so far."""
        return [r for r in self.requests_to("/messages", "POST")]

    # --- routing -------------------------------------------------------------------------------------
    def _next_id(self) -> int:
        with self._id_lock:
            return next(self._ids)

    @staticmethod
    def _token(request: RecordedRequest) -> str | None:
        auth = request.header("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return request.params.get("access_token") or None

    def route(self, request: RecordedRequest) -> Reply:
        path = request.path
        match = _VERSIONED.match(path)
        rest = match.group(2) if match else path
        if rest == "/refresh_access_token" and request.method == "GET":
            return self._refresh(request)
        if rest in ("/oauth/access_token", "/access_token", "/refresh_access_token"):
            return self._oauth(request)
        token = self._token(request)
        if not token:
            return 400, graph_error(2500, "An active access token must be used to query information "
                                          "about the current user."), {}
        if token in self.expired_tokens:
            expired = graph_error(190, "Error validating access token: Session has expired", subcode=463)
            return 400, expired, {}
        if not match:
            return 400, graph_error(2500, "Unknown path components"), {}
        parts = [p for p in rest.split("/") if p]
        handler = _ROUTES.get((request.method, len(parts), parts[-1] if len(parts) > 1 else "*"))
        if handler is None:
            return 400, graph_error(2500, f"Unknown path components: {rest}"), {}
        return handler(self, request, parts)

    def _oauth(self, request: RecordedRequest) -> Reply:
        """Code and token exchanges. A ``code`` is single-use (a second exchange: subcode 36009); ``expired``
        is one past its life (36007, the 30-second Embedded Signup code or an hour-old login code); ``bad``
        is malformed."""
        params = request.params
        code = params.get("code")
        if code == "bad" or params.get("fb_exchange_token") == "bad":
            return 400, graph_error(100, "Invalid verification code format."), {}
        if code == "expired":
            return 400, graph_error(100, "This authorization code has expired.", subcode=36007), {}
        if code:
            with self._id_lock:
                used = code in self.used_codes
                self.used_codes.add(code)
            if used:
                return 400, graph_error(100, "This authorization code has been used.", subcode=36009), {}
        n = self._next_id()
        return 200, {"access_token": f"FAKE-TOKEN-{n}", "token_type": "bearer", "expires_in": 5183944,
                     "user_id": self.ig_user_id, "permissions": "instagram_business_basic"}, {}

    def _refresh(self, request: RecordedRequest) -> Reply:
        """``GET /refresh_access_token?grant_type=ig_refresh_token&access_token=…``: a new 60-day token; code
        190 for a token ``expire_token`` marked (Meta cannot refresh an expired token either)."""
        params = request.params
        token = params.get("access_token")
        if params.get("grant_type") != "ig_refresh_token" or not token:
            return 400, graph_error(100, "Invalid parameter: grant_type and access_token are required"), {}
        if token in self.expired_tokens:
            return 400, graph_error(190, "Error validating access token: Session has expired", subcode=463), {}
        self.refreshed.append(token)
        return 200, {"access_token": f"FAKE-REFRESHED-{self._next_id()}", "token_type": "bearer",
                     "expires_in": 5183944}, {}

    def _messages(self, request: RecordedRequest, parts: list[str]) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        n = self._next_id()
        if body.get("messaging_product") == "whatsapp":
            if body.get("status") == "read":
                if not body.get("message_id"):
                    return 400, graph_error(100, "(#100) The parameter message_id is required."), {}
                return 200, {"success": True}, {}
            to = body.get("to") or body.get("recipient")
            if not to or not body.get("type"):
                return 400, graph_error(100, "(#100) The parameter to is required."), {}
            contact = {"input": to, "wa_id": to} if body.get("to") else {"input": to, "user_id": to}
            return 200, {"messaging_product": "whatsapp", "contacts": [contact],
                         "messages": [{"id": f"wamid.FAKE{n:08d}"}]}, {}
        recipient = body.get("recipient") if isinstance(body.get("recipient"), dict) else {}
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        if not recipient or not message:
            return 400, graph_error(100, "(#100) param recipient and message must be non-empty"), {}
        messaging_type = body.get("messaging_type")
        if messaging_type is not None and (messaging_type not in SEND_API_MESSAGING_TYPES
                                           or (messaging_type == "MESSAGE_TAG") != bool(body.get("tag"))):
            # The Send API: a known messaging_type; a tag with MESSAGE_TAG and only then.
            return 400, graph_error(100, "(#100) Invalid messaging_type or tag"), {}
        if recipient.get("comment_id"):
            comment = str(recipient["comment_id"])
            with self._id_lock:
                if comment in self.private_replied:
                    return 400, graph_error(10900, "Activity already replied to"), {}
                self.private_replied.add(comment)
            return 200, {"recipient_id": f"IGSID-{comment}", "message_id": f"mid.FAKE{n:08d}"}, {}
        return 200, {"recipient_id": str(recipient.get("id")), "message_id": f"mid.FAKE{n:08d}"}, {}

    def _replies(self, request: RecordedRequest, parts: list[str]) -> Reply:
        if not request.params.get("message"):
            return 400, graph_error(100, "(#100) The parameter message is required"), {}
        return 200, {"id": f"{18000000000000000 + self._next_id()}"}, {}

    def _me(self, request: RecordedRequest, parts: list[str]) -> Reply:
        return 200, {"id": self.ig_user_id, "user_id": self.ig_user_id, "username": self.username,
                     "name": "Fake Shop"}, {}

    def _accounts(self, request: RecordedRequest, parts: list[str]) -> Reply:
        return 200, {"data": [dict(page) for page in self.pages]}, {}

    def _subscribe(self, request: RecordedRequest, parts: list[str]) -> Reply:
        fields = str(request.params.get("subscribed_fields") or "")
        self.subscriptions[parts[0]] = [f for f in fields.split(",") if f]
        return 200, {"success": True}, {}

    def _subscriptions(self, request: RecordedRequest, parts: list[str]) -> Reply:
        fields = self.subscriptions.get(parts[0])
        data = [] if fields is None else [{"id": "fake-app", "subscribed_fields": fields}]
        return 200, {"data": data}, {}

    def _unsubscribe(self, request: RecordedRequest, parts: list[str]) -> Reply:
        self.subscriptions.pop(parts[0], None)
        return 200, {"success": True}, {}

    def _success(self, request: RecordedRequest, parts: list[str]) -> Reply:
        return 200, {"success": True}, {}

    # --- WhatsApp set-up ---------------------------------------------------------------------------------
    @staticmethod
    def _hidden(object_id: str) -> Reply:
        return 400, graph_error(100, f"Unsupported get request. Object with ID '{object_id}' does not exist, "
                                     "cannot be loaded due to missing permissions, or does not support this "
                                     "operation.", subcode=33), {}

    def _node(self, request: RecordedRequest, parts: list[str]) -> Reply:
        """GET /{v}/{id}: a WhatsApp number when the fields ask for one, else Instagram's /me."""
        fields = {f.strip() for f in str(request.params.get("fields") or "").split(",")}
        if not fields & _WA_PHONE_FIELDS:
            return self._me(request, parts)
        number = self.wa_numbers.get(parts[0]) or {"display_phone_number": "+1 555-010-9999",
                                                    "verified_name": "Fake Business"}
        return 200, {"id": parts[0], "display_phone_number": number["display_phone_number"],
                     "verified_name": number["verified_name"]}, {}

    def _wabas(self) -> set[str]:
        return {n["waba_id"] for n in self.wa_numbers.values()}

    def _phone_numbers(self, request: RecordedRequest, parts: list[str]) -> Reply:
        waba = parts[0]
        if waba not in self._wabas():
            return self._hidden(waba)
        data = [{"id": pnid, "display_phone_number": n["display_phone_number"], "verified_name": n["verified_name"]}
                for pnid, n in self.wa_numbers.items() if n["waba_id"] == waba]
        return 200, {"data": data}, {}

    def _message_templates(self, request: RecordedRequest, parts: list[str]) -> Reply:
        waba = parts[0]
        if waba not in self._wabas():
            return self._hidden(waba)
        params = request.params
        status = str(params.get("status") or "").upper()
        rows = [t for t in self.templates if not status or str(t.get("status", "")).upper() == status]
        limit = max(1, int(params.get("limit") or 25))
        start = int(params.get("after") or 0)
        body: dict[str, Any] = {"data": [dict(t) for t in rows[start:start + limit]],
                                "paging": {"cursors": {"before": str(start), "after": str(start + limit)}}}
        if start + limit < len(rows):
            query = {k: v for k, v in request.query.items() if k != "after"}
            query["after"] = str(start + limit)
            body["paging"]["next"] = f"{self.url}{request.path}?{urlencode(query)}"
        return 200, body, {}

    def _register(self, request: RecordedRequest, parts: list[str]) -> Reply:
        body = request.json if isinstance(request.json, dict) else {}
        pin = str(body.get("pin") or "")
        if body.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, "(#100) The parameter messaging_product is required."), {}
        if not re.fullmatch(r"\d{6}", pin):
            return 400, graph_error(100, "(#100) Invalid parameter", details="Param pin must be 6 characters long."), {}
        self.registered[parts[0]] = pin
        return 200, {"success": True}, {}


_ROUTES = {
    ("POST", 2, "messages"): FakeGraphAPI._messages,
    ("POST", 2, "replies"): FakeGraphAPI._replies,
    ("GET", 1, "*"): FakeGraphAPI._node,
    ("GET", 2, "phone_numbers"): FakeGraphAPI._phone_numbers,
    ("GET", 2, "message_templates"): FakeGraphAPI._message_templates,
    ("GET", 2, "accounts"): FakeGraphAPI._accounts,
    ("POST", 2, "subscribed_apps"): FakeGraphAPI._subscribe,
    ("GET", 2, "subscribed_apps"): FakeGraphAPI._subscriptions,
    ("DELETE", 2, "subscribed_apps"): FakeGraphAPI._unsubscribe,
    ("POST", 2, "register"): FakeGraphAPI._register,
}
