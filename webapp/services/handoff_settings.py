"""A tenant's handoff settings (Settings → Handoff), read the same way by the pipeline, the conversation
page and the settings form.

Stored in `tenant.settings` (JSON) so they need no migration:
- `handoff_keywords`: phrases with which a customer asks for a person (absent: the defaults of the tenant's
  language, flows/handoff.py);
- `handoff_wait_minutes`: how long a customer waits for a person before the "we'll get back to you"
  message goes out (0: never);
- `handoff_wait_text`: that message (empty: the built-in text in the tenant's language);
- `human_agent_tag`: Meta's Human Agent permission: a person may answer Instagram and Messenger
  conversations for 7 days after the customer's last message (tagged HUMAN_AGENT), not only 24 hours;
- `media_reply_text`: the answer to a photo, voice note or other message without text that the flow does
  not handle (empty: the built-in "I can read text only" in the tenant's language, flows/media.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.handoff import default_keywords, parse_keywords

from .bot_texts import text as bot_text

KEYWORDS, WAIT_MINUTES, WAIT_TEXT, HUMAN_AGENT = (
    "handoff_keywords", "handoff_wait_minutes", "handoff_wait_text", "human_agent_tag")
MEDIA_TEXT = "media_reply_text"
DEFAULT_WAIT_MINUTES = 15
MAX_WAIT_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class HandoffSettings:
    keywords: tuple[str, ...]
    custom_keywords: bool
    wait_minutes: int
    wait_text: str
    custom_wait_text: bool
    human_agent_tag: bool
    media_text: str = ""
    custom_media_text: bool = False


def handoff_settings(settings: Mapping[str, Any] | None, language: str | None) -> HandoffSettings:
    """The tenant's values, with the language's defaults for what it never set."""
    settings = settings or {}
    stored = settings.get(KEYWORDS)
    custom = isinstance(stored, list)
    keywords = parse_keywords("\n".join(str(k) for k in stored)) if custom else default_keywords(language)
    try:
        minutes = int(settings.get(WAIT_MINUTES, DEFAULT_WAIT_MINUTES))
    except (TypeError, ValueError):
        minutes = DEFAULT_WAIT_MINUTES
    text = str(settings.get(WAIT_TEXT) or "").strip()
    media_text = str(settings.get(MEDIA_TEXT) or "").strip()
    return HandoffSettings(keywords=keywords, custom_keywords=custom,
                           wait_minutes=max(0, min(minutes, MAX_WAIT_MINUTES)),
                           wait_text=text or bot_text("handoff.waiting", language),
                           custom_wait_text=bool(text), human_agent_tag=bool(settings.get(HUMAN_AGENT)),
                           media_text=media_text or bot_text("media.text_only", language),
                           custom_media_text=bool(media_text))


def of_tenant(tenant: Any) -> HandoffSettings:
    """For a Tenant model or the pipeline's TenantRow (both have `settings` and `language`)."""
    return handoff_settings(tenant.settings, tenant.language)
