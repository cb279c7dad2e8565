"""The Graph calls that set up a WhatsApp number (PROTOCOLS.md §4, §6): what the WhatsApp connect pages need.
HTTP and parsing only; which channel is stored is the service's job.

- Embedded Signup: the code the JS SDK hands the page lives 30 seconds, so it is exchanged at once
  (``GET /oauth/access_token`` with the app secret and no ``redirect_uri``) for a business token; then the
  WhatsApp Business Account (WABA) is subscribed to our app (``POST /<waba>/subscribed_apps``) and the number
  registered for the Cloud API with the two-step verification PIN the owner chose (``POST /<pnid>/register``).
- The manual form: a system-user token and the two ids are checked by reading the number
  (``GET /<pnid>?fields=display_phone_number,verified_name``) and the WABA's numbers
  (``GET /<waba>/phone_numbers``) before anything is saved.
- Re-engagement templates: the WABA's approved message templates (``GET /<waba>/message_templates``),
  following ``paging.next`` up to a cap.

Every failure is a :class:`SetupCallFailed` (a ``GraphCallFailed`` that also keeps Meta's subcode and message,
which tell an expired sign-up code from a used one); tokens, the app secret and the code are masked out of
every message and log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from .events import ConnectorConfig
from .http import HttpResult, mask_secrets, request
from .meta import bearer
from .meta_login import Grant, GraphCallFailed, _grant

#: Graph permission errors: 10 ("Application does not have permission") and the 200-299 range
#: ("Permissions error"); 100 with subcode 33 is an object the token may not see (or that does not exist).
PERMISSION_CODES = frozenset({10, *range(200, 300)})
OBJECT_HIDDEN_SUBCODE = 33
CODE_EXPIRED_SUBCODE = 36007
CODE_USED_SUBCODE = 36009
PIN_RE = re.compile(r"\d{6}")
#: Pages of templates read at most (100 per page): a WABA has at most a few hundred approved templates.
MAX_TEMPLATE_PAGES = 10
TEMPLATE_PAGE_SIZE = 100


class SetupCallFailed(GraphCallFailed):
    """A set-up call Meta refused, or that got no usable answer. On top of ``GraphCallFailed`` (``step``,
    ``code``, ``token_invalid``, ``unreachable``): Meta's ``subcode`` and its ``reason`` text (masked, cut
    short) for a page to quote."""

    def __init__(self, step: str, result: HttpResult | None, secrets: tuple[str, ...] = (), *,
                 detail: str | None = None) -> None:
        super().__init__(step, result, secrets, detail=detail)
        error = result.data.get("error") if result is not None and isinstance(result.data, dict) else None
        error = error if isinstance(error, dict) else {}
        subcode = error.get("error_subcode")
        self.subcode = int(subcode) if isinstance(subcode, int | str) and str(subcode).isdigit() else None
        data = error.get("error_data")
        text = str(error.get("error_user_msg") or error.get("message") or detail or "")
        if isinstance(data, dict) and data.get("details"):
            text = f"{text}: {data['details']}" if text else str(data["details"])
        self.reason = mask_secrets(text, secrets)[:300]

    @property
    def code_expired(self) -> bool:
        return self.subcode == CODE_EXPIRED_SUBCODE or "expired" in self.reason.lower()

    @property
    def code_used(self) -> bool:
        return self.subcode == CODE_USED_SUBCODE or "has been used" in self.reason.lower()

    @property
    def missing_permission(self) -> bool:
        """The token lacks a permission, or may not see the object asked for."""
        return self.code in PERMISSION_CODES or (self.code == 100 and self.subcode == OBJECT_HIDDEN_SUBCODE)


@dataclass(frozen=True)
class PhoneNumber:
    id: str
    display_phone_number: str
    verified_name: str

    @property
    def label(self) -> str:
        """What a person recognises the number by: ``Verified name (+1 555 …)``."""
        if self.verified_name and self.display_phone_number:
            return f"{self.verified_name} ({self.display_phone_number})"
        return self.verified_name or self.display_phone_number or self.id


@dataclass(frozen=True)
class Template:
    """An approved message template: what the re-engagement setting stores is its name and language."""

    name: str
    language: str
    category: str = ""


def _base(config: ConnectorConfig) -> str:
    return f"{config.meta_graph_url.rstrip('/')}/{config.graph_version}"


def _node(config: ConnectorConfig, object_id: str) -> str:
    return f"{_base(config)}/{quote(str(object_id), safe='')}"


def _get(step: str, url: str, token: str, config: ConnectorConfig, params: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    result = request("GET", url, config=config, params=params, headers=bearer(token), secrets=[token])
    if not result.ok or not isinstance(result.data, dict):
        raise SetupCallFailed(step, result, (token,))
    return result.data


def exchange_code(code: str, app_id: str, app_secret: str, config: ConnectorConfig) -> Grant:
    """The Embedded Signup code → a business token (``GET /oauth/access_token?client_id&client_secret&code``;
    no ``redirect_uri``: the SDK's popup had none). Server-side only: it carries the app secret."""
    secrets = (code, app_secret)
    result = request("GET", f"{_base(config)}/oauth/access_token", config=config,
                     params={"client_id": app_id, "client_secret": app_secret, "code": code}, secrets=secrets)
    if not result.ok or not isinstance(result.data, dict):
        raise SetupCallFailed("exchange", result, secrets)
    try:
        return _grant("exchange", result.data, secrets)
    except GraphCallFailed:
        raise SetupCallFailed("exchange", None, secrets, detail="answer without access_token") from None


def subscribe_waba(waba_id: str, token: str, config: ConnectorConfig) -> None:
    """``POST /<waba>/subscribed_apps`` → ``{"success": true}``: the WABA's webhooks come to our app (which
    fields is the app's webhook configuration, so no ``subscribed_fields`` is sent)."""
    result = request("POST", f"{_node(config, waba_id)}/subscribed_apps", config=config, headers=bearer(token),
                     secrets=[token])
    if not result.ok or not (isinstance(result.data, dict) and result.data.get("success")):
        raise SetupCallFailed("subscribe", result, (token,))


def register_number(phone_number_id: str, pin: str, token: str, config: ConnectorConfig) -> None:
    """``POST /<pnid>/register`` with the number's two-step verification PIN: the number starts using the
    Cloud API (a number already protected by a PIN needs that same PIN)."""
    if not PIN_RE.fullmatch(pin or ""):
        raise SetupCallFailed("register", None, (token,), detail="the PIN must be 6 digits")
    result = request("POST", f"{_node(config, phone_number_id)}/register", config=config,
                     json={"messaging_product": "whatsapp", "pin": pin}, headers=bearer(token),
                     secrets=[token, pin])
    if not result.ok or not (isinstance(result.data, dict) and result.data.get("success")):
        raise SetupCallFailed("register", result, (token, pin))


def _phone(item: dict[str, Any], fallback_id: str = "") -> PhoneNumber:
    return PhoneNumber(id=str(item.get("id") or fallback_id), display_phone_number=str(
        item.get("display_phone_number") or ""), verified_name=str(item.get("verified_name") or ""))


def phone_number(phone_number_id: str, token: str, config: ConnectorConfig) -> PhoneNumber:
    """The number as Meta shows it; also the manual form's check that the token may use this number."""
    data = _get("phone_number", _node(config, phone_number_id), token, config,
                {"fields": "display_phone_number,verified_name"})
    return _phone(data, phone_number_id)


def waba_phone_numbers(waba_id: str, token: str, config: ConnectorConfig) -> list[PhoneNumber]:
    """The numbers of a WABA (the first 100: more than a business has)."""
    data = _get("phone_numbers", f"{_node(config, waba_id)}/phone_numbers", token, config,
                {"fields": "id,display_phone_number,verified_name", "limit": 100})
    return [_phone(item) for item in data.get("data") or [] if isinstance(item, dict) and item.get("id")]


def _same_host(url: str, config: ConnectorConfig) -> bool:
    """``paging.next`` is followed with our token only where it points at the Graph host we call."""
    ours, theirs = urlsplit(config.meta_graph_url), urlsplit(url)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def approved_templates(waba_id: str, token: str, config: ConnectorConfig, *,
                       max_pages: int = MAX_TEMPLATE_PAGES) -> list[Template]:
    """The WABA's APPROVED templates (name, language, category), sorted, following ``paging.next`` for at
    most ``max_pages`` pages."""
    url: str | None = f"{_node(config, waba_id)}/message_templates"
    params: dict[str, Any] | None = {"status": "APPROVED", "fields": "name,language,status,category",
                                     "limit": TEMPLATE_PAGE_SIZE}
    found: dict[tuple[str, str], Template] = {}
    for _page in range(max_pages):
        if url is None:
            break
        data = _get("templates", url, token, config, params)
        for item in data.get("data") or []:
            if not isinstance(item, dict) or str(item.get("status") or "APPROVED").upper() != "APPROVED":
                continue
            name, language = str(item.get("name") or ""), str(item.get("language") or "")
            if name and language:
                found[(name, language)] = Template(name, language, str(item.get("category") or ""))
        paging = data.get("paging") if isinstance(data.get("paging"), dict) else {}
        following = paging.get("next")
        url = following if isinstance(following, str) and _same_host(following, config) else None
        params = None  # the next URL carries the query (and the cursor) itself
    return sorted(found.values(), key=lambda t: (t.name, t.language))
