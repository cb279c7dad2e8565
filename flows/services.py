"""What a node may ask of the outside world, and deterministic fakes for tests and the simulator.

The pipeline builds a `Services` per turn from the tenant (language, profile, plan features) and real
providers; the simulator and tests use `offline_services()` / the fakes here. Nodes only ever read
`services` — they never import an HTTP client or a database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(slots=True)
class LLMResult:
    """What an LLM provider returns; `error` set means the call failed and nodes must fall back."""

    text: str = ""
    data: dict | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    model: str = ""


@dataclass(slots=True)
class HttpResult:
    """Outcome of an integration HTTP call; `body` is parsed JSON when possible, else text."""

    status: int = 0
    body: Any = None
    error: str | None = None


class LLM(Protocol):
    def complete(
        self, messages: list[dict], *, max_tokens: int, response_schema: dict | None = None
    ) -> LLMResult: ...


class Http(Protocol):
    def request(
        self, method: str, url: str, *, json: Any, headers: dict[str, str], timeout: float
    ) -> HttpResult: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass(slots=True)
class Context:
    """The tenant-side facts a turn runs with (language, business profile, plan features), and the
    channel's: its type name, ``text_limit``, the longest text one of its messages takes (None:
    ``text_limits.DEFAULT_LIMIT``), and ``channel_style``, where the bot writes as the model is told and the
    reply length to aim for (None: ``prompt.DEFAULT_STYLE``); the caller knows both from the channel
    registry."""

    language: str = "en"
    channel: str = "test"
    profile: dict[str, Any] = field(default_factory=dict)
    features: set[str] = field(default_factory=set)
    prompt_layers: list[dict] = field(default_factory=list)
    fallback_text: str | None = None
    timezone: str | None = None
    phone_region: str | None = None
    text_limit: int | None = None
    channel_style: tuple[str, int] | None = None
    #: Phrases with which a customer asks for a person (the tenant's, else the language's defaults:
    #: flows/handoff.py); a message containing one hands the conversation off before any flow runs.
    handoff_keywords: tuple[str, ...] = ()
    #: The tenant's answer to a photo, voice note or other message without text that the flow does not
    #: handle (None: the built-in text in the tenant's language; flows/media.py).
    media_text: str | None = None
    #: The tenant language's gettext over the Babel catalogs, for the engine's own texts (flows/i18n.py);
    #: None: the English texts.
    translate: Callable[[str], str] | None = None


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(slots=True)
class FixedClock:
    """A clock that says what the test tells it; `advance` moves it forward."""

    at: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**delta)


@dataclass(slots=True)
class FakeLLM:
    """Deterministic LLM: replies from the last user message; fills `response_schema` from `data`.

    `fail` makes every call return an error (to exercise fallbacks); `calls` records every request.
    """

    data: dict[str, Any] = field(default_factory=dict)
    fail: str | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    model: str = "fake-llm"

    def complete(
        self, messages: list[dict], *, max_tokens: int, response_schema: dict | None = None
    ) -> LLMResult:
        self.calls.append(
            {"messages": messages, "max_tokens": max_tokens, "response_schema": response_schema}
        )
        if self.fail:
            return LLMResult(error=self.fail, model=self.model)
        last = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        text = f"[fake reply] You said: {last}"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        data = None
        if response_schema is not None:
            props = response_schema.get("properties", {})
            data = {key: self.data[key] for key in props if key in self.data}
            data.setdefault("reply", text)
        return LLMResult(
            text=text,
            data=data,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(text.split()),
            model=self.model,
        )


@dataclass(slots=True)
class RecordingHttp:
    """Records requests and answers from `responses` (keyed by "METHOD url" or url) or `default`."""

    responses: dict[str, HttpResult] = field(default_factory=dict)
    default: HttpResult = field(default_factory=lambda: HttpResult(status=200, body={}))
    requests: list[dict[str, Any]] = field(default_factory=list)
    handler: Callable[[dict[str, Any]], HttpResult] | None = None

    def request(
        self, method: str, url: str, *, json: Any, headers: dict[str, str], timeout: float
    ) -> HttpResult:
        call = {"method": method, "url": url, "json": json, "headers": headers, "timeout": timeout}
        self.requests.append(call)
        if self.handler is not None:
            return self.handler(call)
        return self.responses.get(f"{method} {url}") or self.responses.get(url) or self.default


@dataclass(slots=True)
class Services:
    """Everything a node may use; `llm`/`http` are None when unavailable (offline mode)."""

    context: Context = field(default_factory=Context)
    clock: Clock = field(default_factory=SystemClock)
    llm: LLM | None = None
    http: Http | None = None
    faq: list[dict] | None = None

    def faq_entries(self) -> list[dict]:
        """Tenant FAQ: the explicit list if given, else `profile["faq"]`."""
        if self.faq is not None:
            return self.faq
        entries = self.context.profile.get("faq") or []
        return entries if isinstance(entries, list) else []


def offline_services(
    *,
    language: str = "en",
    channel: str = "test",
    profile: dict[str, Any] | None = None,
    features: set[str] | None = None,
    llm: LLM | None = None,
    text_limit: int | None = None,
    translate: Callable[[str], str] | None = None,
) -> Services:
    """Services for the simulator and tests: fixed clock, recording HTTP, optional fake LLM, and the
    language's gettext for the engine's own texts (None: English)."""
    return Services(
        context=Context(
            language=language, channel=channel, profile=dict(profile or {}), features=set(features or ()),
            text_limit=text_limit, translate=translate,
        ),
        clock=FixedClock(),
        llm=llm,
        http=RecordingHttp(),
    )


def to_json_text(value: Any) -> str:
    """Compact JSON for traces and payloads (non-JSON values stringified)."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
