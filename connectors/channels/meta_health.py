"""Reading a Meta account's health back from the Graph API, shared by Instagram, Messenger and WhatsApp:
does its token still work (one ``GET`` of the account with the token), and which webhook fields is the
account subscribed to (``GET /{id}/subscribed_apps``, what a ``POST`` there set up).

HTTP and parsing only, like every channel module: each connector's ``health`` says which URLs name its
account; what is stored, shown and flagged is the webapp's (``webapp/services/channel_health.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.channels import meta
from connectors.channels.base import ChannelHealth
from connectors.channels.events import ConnectorConfig
from connectors.channels.http import HttpResult, request


def graph_get(url: str, token: str, config: ConnectorConfig, params: Mapping[str, Any] | None = None
              ) -> HttpResult:
    """One Graph ``GET`` with a Bearer token (kept out of the URL) through the retrying client: a read is
    repeatable, so the client may retry it within ``config.max_attempts``."""
    return request("GET", url, config=config, params=params, headers=meta.bearer(token), secrets=[token])


def token_state(url: str, token: str | None, config: ConnectorConfig, fields: str
                ) -> tuple[dict[str, Any] | None, ChannelHealth]:
    """(the account object when the token works, the health known so far). Code 190 is the token's fault
    (``token_ok`` False); no answer, a 5xx or throttling concludes nothing (``ChannelHealth.unreachable``);
    any other refusal (a missing permission, a wrong id) leaves the token unknown with the API's words."""
    if not token:
        return None, ChannelHealth(checked=True, token_ok=False, token_error="no access token is stored")
    answer = graph_get(url, token, config, {"fields": fields})
    if answer.ok:
        return (answer.data if isinstance(answer.data, dict) else {}), ChannelHealth(checked=True, token_ok=True)
    failure = meta.graph_error_result(answer, [token])
    if failure.token_invalid:
        return None, ChannelHealth(checked=True, token_ok=False, token_error=failure.error)
    if failure.retryable or answer.status_code is None:
        return None, ChannelHealth.unreachable(failure.error or "no answer")
    return None, ChannelHealth(checked=True, token_error=failure.error)


def subscription(url: str, token: str, config: ConnectorConfig) -> dict[str, Any]:
    """``ChannelHealth`` fields read from an account's ``subscribed_apps``: subscribed when any app is
    listed (the answer names apps, not callback URLs), with the union of the fields they subscribed to (a
    WhatsApp Business Account lists apps without fields: those are set in the app's own settings)."""
    answer = graph_get(url, token, config)
    if answer.ok:
        data = answer.data.get("data") if isinstance(answer.data, dict) else None
        apps = [app for app in data if isinstance(app, dict)] if isinstance(data, list) else []
        fields = [field for app in apps for field in (app.get("subscribed_fields") or [])
                  if isinstance(field, str)] if apps else []
        return {"subscribed": bool(apps), "subscribed_fields": tuple(dict.fromkeys(fields))}
    failure = meta.graph_error_result(answer, [token])
    if failure.token_invalid:
        return {"token_ok": False, "token_error": failure.error}
    return {"detail": f"the webhook subscription could not be read: {failure.error}"}
