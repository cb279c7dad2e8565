"""How a customer's photo, voice note, file or location shows wherever a message does: the conversation
page and the lead page list each attachment, the inbox's preview names the kind of a message without text
(connectors/channels/events.media_item's kinds; `payload["content"]` of a stored message)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

#: How the transcript shows a customer's attachment (connectors/channels/events.media_item's kinds): an icon
#: and a label; the media itself is never fetched (Meta's and WhatsApp's links need the channel's token
#: and expire), only a link where the platform gave one.
MEDIA_LABELS: dict[str, tuple[str, Callable[[], str]]] = {
    "image": ("\U0001f5bc", lambda: _("Photo")), "audio": ("\U0001f3a4", lambda: _("Voice or audio")),
    "video": ("\U0001f3ac", lambda: _("Video")), "sticker": ("\U0001f642", lambda: _("Sticker")),
    "file": ("\U0001f4ce", lambda: _("File")), "location": ("\U0001f4cd", lambda: _("Location")),
    "other": ("\u2709", lambda: _("Message the bot cannot read"))}


def _coordinate(value: Any, limit: float) -> float | None:
    """A latitude or longitude as stored (a number within ±limit), else None: no map link from junk."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not -limit <= value <= limit:
        return None
    return float(value)


def media_entries(payload: Any) -> list[dict[str, Any]]:
    """A stored message's attachments as the page shows them: icon, label, file name or title, a link only
    where the platform gave an http(s) URL, a map link for a location's coordinates."""
    media = payload.get("media") if isinstance(payload, dict) else None
    entries = []
    for item in media if isinstance(media, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("kind") if item.get("kind") in MEDIA_LABELS else "other"
        icon, label = MEDIA_LABELS[kind]
        url = item.get("url") if isinstance(item.get("url"), str) else ""
        lat, lon = _coordinate(item.get("latitude"), 90), _coordinate(item.get("longitude"), 180)
        map_url = (f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"
                   if lat is not None and lon is not None else None)
        entries.append({"kind": kind, "icon": icon, "label": label(),
                        "name": item.get("file_name") or item.get("title") or item.get("address") or "",
                        "url": url if url.startswith(("https://", "http://")) else None, "map_url": map_url})
    return entries


def preview(text: str, content: Any) -> str:
    """The inbox line of a message: its text, else its kind's icon and label ("🖼 Photo"), else nothing."""
    if text or not content or content == "text":
        return text
    icon, label = MEDIA_LABELS.get(str(content), MEDIA_LABELS["other"])
    return f"{icon} {label()}"
