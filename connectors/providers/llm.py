"""The LLM provider: any OpenAI-compatible chat-completions server through the official `openai` client.

Works with OpenAI, Azure OpenAI's v1 endpoint, vLLM, Ollama, LiteLLM: only `base_url`, key and model
differ. Failures never raise: `complete()` returns `LLMResult(error=...)` and the `llm` node answers from
the FAQ or the tenant's fallback text, so a customer never gets silence or a stack trace.

Retries are ours, not the client's (`OpenAI(max_retries=0)`): 408/409/429/5xx, timeouts and connection
errors are retried up to `max_retries` times with exponential backoff + full jitter (tenacity), and a
`Retry-After` / `retry-after-ms` header is honoured when it is at most `max_retry_after` seconds — a
longer one means the quota is gone for a while, so we fail fast and let the fallback answer instead of
holding a worker and the customer. Worst-case wall time of one `complete()` is
``(max_retries + 1) × timeout + max_retries × max(backoff_max, max_retry_after)``.

Structured output uses `response_format={"type": "json_schema", "strict": true}` (not a tool call:
every server listed above implements it, and the answer comes back as the message content). When a
server rejects it (HTTP 400), the provider asks once more with the schema in the system text and parses
JSON out of the reply (code fences and surrounding prose tolerated), and remembers not to send it again.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx2
import openai
from openai import OpenAI
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from flows.prompt import estimate_messages_tokens, estimate_tokens
from flows.services import LLMResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
NO_KEY_PLACEHOLDER = "no-key"  # self-hosted servers (vLLM, Ollama) accept any key
RETRYABLE_STATUS = frozenset({408, 409, 429})
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


def _retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` seconds or HTTP date)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def parse_json_object(text: str) -> dict | None:
    """The JSON object in a model's reply: bare, in a ```json fence, or embedded in prose; else None."""
    text = (text or "").strip()
    if not text:
        return None
    fenced = _FENCE.match(text)
    candidates = [fenced.group(1)] if fenced else [text]
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _error_text(exc: BaseException) -> str:
    """Short, key-free error text for logs, traces and `LLMResult.error`."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    status = _status(exc)
    if status is not None:
        kind = {401: "auth_error", 403: "forbidden", 404: "not_found", 429: "rate_limited"}.get(status)
        kind = kind or ("server_error" if status >= 500 else "bad_request")
        message = str(getattr(exc, "message", "") or "")[:200]
        return f"{kind} (HTTP {status}): {message}" if message else f"{kind} (HTTP {status})"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class OpenAIProvider:
    """One model on one OpenAI-compatible endpoint; thread-safe, reuse it (see `get_provider`)."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str,
        model: str,
        timeout: float = 20,
        max_retries: int = 2,
        *,
        max_retry_after: float = 10.0,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url or DEFAULT_BASE_URL
        self.model = model
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.json_schema_supported = True  # flipped once a server rejects response_format
        self.token_param = "max_tokens"  # "max_completion_tokens" once the endpoint asks for it
        self.client = OpenAI(base_url=self.base_url, api_key=api_key, timeout=self.timeout, max_retries=0)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIProvider(base_url={self.base_url!r}, model={self.model!r})"

    # -- retry policy -----------------------------------------------------------------------------------
    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
            return True
        status = _status(exc)
        if status is None or not (status in RETRYABLE_STATUS or status >= 500):
            return False
        retry_after = _retry_after_seconds(exc)
        return retry_after is None or retry_after <= self.max_retry_after

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when the server gave one, else exponential backoff with full jitter."""
        exc = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after_seconds(exc) if exc is not None else None
        if retry_after is not None:
            return min(retry_after, self.max_retry_after) + random.uniform(0, 0.1)
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)

    def _create(self, kwargs: dict[str, Any]) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            sleep=self._sleep,
            reraise=True,
        )
        return retrying(self._post, kwargs)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """`chat.completions.create` minus its request transform and its response models: the client's
        documented `post` for "undocumented endpoints" with the same path, auth, retries and errors (an
        HTTP error still raises `APIStatusError`), answering the raw response, whose JSON we read as a dict.
        The transform walks every message against the params' TypedDicts to rename aliased keys and encode
        files, none of which our JSON-ready bodies have, and building the pydantic `ChatCompletion` was
        another ~15% of a call; both were CPU every worker core pays per AI turn (bench/llm_concurrency.py)."""
        response = self.client.post("/chat/completions", body=body, cast_to=httpx2.Response,
                                    options={"security": {"bearer_auth": True}})  # the auth create() asks for
        data = response.json()
        if not isinstance(data, dict):
            raise ValueError("the chat completion is not a JSON object")
        return data

    # -- the call ---------------------------------------------------------------------------------------
    def complete(
        self, messages: list[dict], *, max_tokens: int = 400, response_schema: dict | None = None
    ) -> LLMResult:
        """Ask the model; never raises. With `response_schema`, `data` holds the parsed JSON object and
        `text` its `reply` field (never the raw JSON, which must not reach a customer)."""
        started = time.monotonic()
        try:
            result = self._complete(messages, max_tokens, response_schema)
        except openai.OpenAIError as exc:
            result = LLMResult(error=_error_text(exc), model=self.model)
        except Exception as exc:  # a bug or a malformed server answer must not silence the bot
            log.exception("llm: unexpected failure")
            result = LLMResult(error=f"unexpected: {type(exc).__name__}", model=self.model)
        if result.error:
            log.warning("llm %s at %s failed after %.1fs: %s", self.model, self.base_url,
                        time.monotonic() - started, result.error)
        return result

    def _request(self, kwargs: dict[str, Any]) -> Any:
        """One call with retries. Newer OpenAI models reject `max_tokens` (400, "use
        max_completion_tokens"); then we resend with that name and remember it for this endpoint."""
        try:
            return self._create(kwargs)
        except openai.BadRequestError as exc:
            if "max_tokens" not in kwargs or "max_completion_tokens" not in str(exc):
                raise
            self.token_param = "max_completion_tokens"
            retry = {k: v for k, v in kwargs.items() if k != "max_tokens"}
            return self._create({**retry, "max_completion_tokens": kwargs["max_tokens"]})

    def _complete(self, messages: list[dict], max_tokens: int, schema: dict | None) -> LLMResult:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, self.token_param: max_tokens}
        if schema is not None and self.json_schema_supported:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "structured_reply", "schema": schema, "strict": True},
            }
            try:
                completion = self._request(kwargs)
            except openai.BadRequestError:
                # Maybe the server has no structured output: ask once more without it, and if that
                # works, stop sending response_format to this endpoint.
                completion = self._request(self._json_in_text(kwargs, schema, self.token_param))
                log.info("llm: %s rejected response_format; using JSON-in-text from now on", self.base_url)
                self.json_schema_supported = False
        elif schema is not None:
            completion = self._request(self._json_in_text(kwargs, schema, self.token_param))
        else:
            completion = self._request(kwargs)
        return self._result(completion, messages, schema)

    @staticmethod
    def _json_in_text(kwargs: dict[str, Any], schema: dict, token_param: str) -> dict[str, Any]:
        """Same request without `response_format`: the schema goes into the system text instead."""
        instruction = (
            "Answer with only one JSON object (no prose, no code fence) that matches this JSON schema; "
            "use null for anything the customer has not said:\n" + json.dumps(schema, ensure_ascii=False)
        )
        messages = [dict(m) for m in kwargs["messages"]]
        if messages and messages[0].get("role") == "system":
            messages[0]["content"] = f"{messages[0].get('content') or ''}\n\n{instruction}"
        else:
            messages.insert(0, {"role": "system", "content": instruction})
        out = {k: v for k, v in kwargs.items() if k not in {"response_format", "max_tokens",
                                                             "max_completion_tokens"}}
        max_tokens = kwargs.get("max_tokens") or kwargs.get("max_completion_tokens")
        out.update({"messages": messages, token_param: max_tokens})
        return out

    def _result(self, completion: dict[str, Any], messages: list[dict], schema: dict | None) -> LLMResult:
        model = completion.get("model") or self.model
        choices = completion.get("choices") or []
        message = (choices[0] or {}).get("message") or {} if choices else {}
        content = message.get("content") or ""
        content = content.strip() if isinstance(content, str) else ""
        usage = completion.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens")
        completion_tokens = usage.get("completion_tokens")
        if prompt_tokens is None:  # some compatible servers omit usage; plan limits still need a number
            prompt_tokens = estimate_messages_tokens(messages)
        if completion_tokens is None:
            completion_tokens = estimate_tokens(content)
        result = LLMResult(prompt_tokens=int(prompt_tokens), completion_tokens=int(completion_tokens),
                           model=model)
        refusal = message.get("refusal")
        if refusal:
            result.error = f"refusal: {str(refusal)[:200]}"
            return result
        if schema is None:
            result.text = content
        else:
            data = parse_json_object(content)
            if data is not None:
                result.data = data
                result.text = str(data.get("reply") or "").strip()
            elif content and content.lstrip()[:1] not in "{[`":
                result.text = content  # the model ignored the schema but wrote a usable plain reply
            else:
                result.error = "invalid_json: the model's structured reply could not be parsed"
                return result
        if not result.text and not result.data:
            result.error = "empty_reply"
        return result

    def close(self) -> None:
        self.client.close()


# -- construction from configuration -------------------------------------------------------------------
_CACHE: OrderedDict[tuple[Any, ...], OpenAIProvider] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 64


def get_provider(
    base_url: str | None, api_key: str, model: str, timeout: float = 20, max_retries: int = 2
) -> OpenAIProvider:
    """A shared provider per (base_url, key, model, timeout, retries): one HTTP connection pool each,
    instead of a new client (and new TLS handshakes) per message. LRU-bounded."""
    key = (base_url or DEFAULT_BASE_URL, api_key, model, float(timeout), int(max_retries))
    with _CACHE_LOCK:
        provider = _CACHE.get(key)
        if provider is not None:
            _CACHE.move_to_end(key)
            return provider
        provider = OpenAIProvider(base_url, api_key, model, timeout, max_retries)
        _CACHE[key] = provider
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)  # dropped, not closed: another thread may still be using it
        return provider


def _setting(settings: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = settings.get(name)
        if value not in (None, ""):
            return value
    return None


def provider_from_settings(settings: Mapping[str, Any]) -> OpenAIProvider | None:
    """The provider for a tenant, or None in offline mode (no API key anywhere → FAQ retrieval).

    `settings` is global config (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`, `OPENAI_TIMEOUT`,
    `OPENAI_MAX_RETRIES`) merged with per-plan/per-tenant overrides (`llm_model`, `llm_base_url`,
    `llm_api_key`, `llm_timeout`, `llm_max_retries`); overrides win. When `llm_base_url` points somewhere
    other than the global endpoint and no `llm_api_key` is given, the platform's key is NOT sent there
    (it would leak to another host); a placeholder key is used, which self-hosted servers accept.
    """
    global_key = _setting(settings, "OPENAI_API_KEY")
    own_key = _setting(settings, "llm_api_key")
    if not (own_key or global_key):
        return None
    global_url = _setting(settings, "OPENAI_BASE_URL")
    override_url = _setting(settings, "llm_base_url")
    base_url = override_url or global_url
    if own_key:
        api_key = str(own_key)
    elif override_url and str(override_url).rstrip("/") != str(global_url or DEFAULT_BASE_URL).rstrip("/"):
        api_key = NO_KEY_PLACEHOLDER
    else:
        api_key = str(global_key)
    model = str(_setting(settings, "llm_model", "OPENAI_MODEL") or DEFAULT_MODEL)
    try:
        timeout = float(_setting(settings, "llm_timeout", "OPENAI_TIMEOUT") or 20)
        retries = _setting(settings, "llm_max_retries", "OPENAI_MAX_RETRIES")
        max_retries = int(retries) if retries is not None else 2
    except (TypeError, ValueError):
        timeout, max_retries = 20.0, 2
    return get_provider(str(base_url) if base_url else None, api_key, model, timeout, max_retries)
