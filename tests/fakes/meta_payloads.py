"""Build Meta webhook bodies as raw bytes exactly as Meta sends them, and sign them.

Meta serialises compactly with non-ASCII escaped as ``\\uXXXX`` (lowercase hex) and signs those bytes
(PROTOCOLS.md §1, §9). ``encode`` reproduces that; ``sign``/``signed_headers`` make the
``X-Hub-Signature-256`` header. Builders return dicts so tests can combine them into batches::

    raw = encode(instagram_payload(ig_dm_entry("1784", [ig_dm("IGSID", "mid.1", "Привет")])))
    client.post("/webhooks/meta", data=raw, headers=signed_headers(raw, "app-secret"))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


def encode(payload: dict[str, Any]) -> bytes:
    """Meta's wire bytes: compact JSON, ASCII only (non-ASCII as \\uXXXX escapes)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def sign(raw: bytes, secret: str) -> str:
    """``sha256=<hex>`` over the raw bytes, as in ``X-Hub-Signature-256``."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signed_headers(raw: bytes, secret: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)}


def _ms() -> int:
    return int(time.time() * 1000)


# --- Instagram -------------------------------------------------------------------------------------

def ig_dm(sender: str, mid: str, text: str = "", *, recipient: str = "", timestamp: int | None = None,
          attachments: list[dict[str, Any]] | None = None, is_echo: bool = False,
          quick_reply: str | None = None) -> dict[str, Any]:
    """One ``messaging[]`` item (set ``is_echo`` for our own message coming back)."""
    message: dict[str, Any] = {"mid": mid}
    if text:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    if is_echo:
        message["is_echo"] = True
    if quick_reply is not None:
        message["quick_reply"] = {"payload": quick_reply}
    return {"sender": {"id": sender}, "recipient": {"id": recipient},
            "timestamp": timestamp if timestamp is not None else _ms(), "message": message}


def ig_dm_entry(account_id: str, messaging: list[dict[str, Any]], *, time_ms: int | None = None
                ) -> dict[str, Any]:
    """An entry for the IG professional account ``account_id`` (fills missing recipient ids)."""
    items = []
    for item in messaging:
        item = dict(item)
        if not item.get("recipient", {}).get("id"):
            item["recipient"] = {"id": account_id}
        items.append(item)
    return {"id": account_id, "time": time_ms if time_ms is not None else _ms(), "messaging": items}


def ig_comment_change(comment_id: str, text: str, *, user_id: str, username: str = "customer",
                      media_id: str = "18000000000000001", parent_id: str | None = None,
                      field: str = "comments", use_comment_id_key: bool = False) -> dict[str, Any]:
    """One ``changes[]`` item for a comment (``use_comment_id_key``: the FB-Login ``comment_id`` form)."""
    value: dict[str, Any] = {"text": text, "from": {"id": user_id, "username": username},
                             "media": {"id": media_id, "media_product_type": "FEED"}}
    value["comment_id" if use_comment_id_key else "id"] = comment_id
    if parent_id:
        value["parent_id"] = parent_id
    return {"field": field, "value": value}


def ig_changes_entry(account_id: str, changes: list[dict[str, Any]], *, time_s: int | None = None
                     ) -> dict[str, Any]:
    return {"id": account_id, "time": time_s if time_s is not None else int(time.time()), "changes": changes}


def instagram_payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "instagram", "entry": list(entries)}


def ig_dm_body(account_id: str, sender: str, mid: str, text: str) -> bytes:
    """Shortcut: the raw bytes of a single-DM webhook."""
    return encode(instagram_payload(ig_dm_entry(account_id, [ig_dm(sender, mid, text)])))


def ig_comment_body(account_id: str, comment_id: str, text: str, user_id: str, **kw: Any) -> bytes:
    change = ig_comment_change(comment_id, text, user_id=user_id, **kw)
    return encode(instagram_payload(ig_changes_entry(account_id, [change])))


# --- WhatsApp --------------------------------------------------------------------------------------

def wa_text(wamid: str, text: str, *, wa_id: str | None = "16505551234", user_id: str | None = None,
            timestamp: int | None = None) -> dict[str, Any]:
    """One ``messages[]`` text item; ``wa_id=None`` + ``user_id`` is a username user (no phone)."""
    msg: dict[str, Any] = {"id": wamid, "timestamp": str(timestamp or int(time.time())), "type": "text",
                           "text": {"body": text}}
    if wa_id:
        msg["from"] = wa_id
    if user_id:
        msg["user_id"] = user_id
    return msg


def wa_contact(name: str, *, wa_id: str | None = "16505551234", user_id: str | None = None) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    return contact


def wa_status(wamid: str, status: str, *, recipient_id: str = "16505551234", timestamp: int | None = None,
              errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp or int(time.time())),
                            "recipient_id": recipient_id}
    if errors:
        item["errors"] = errors
    return item


def wa_change(phone_number_id: str, *, messages: list[dict[str, Any]] | None = None,
              statuses: list[dict[str, Any]] | None = None, contacts: list[dict[str, Any]] | None = None,
              display_phone_number: str = "15550783881") -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": display_phone_number,
                                          "phone_number_id": phone_number_id}}
    if contacts:
        value["contacts"] = contacts
    if messages:
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return {"field": "messages", "value": value}


def wa_entry(waba_id: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": waba_id, "changes": changes}


def whatsapp_payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": list(entries)}


def wa_text_body(phone_number_id: str, wamid: str, text: str, *, wa_id: str = "16505551234",
                 name: str = "Customer", waba_id: str = "102290129340398") -> bytes:
    """Shortcut: the raw bytes of a single-text WhatsApp webhook."""
    change = wa_change(phone_number_id, messages=[wa_text(wamid, text, wa_id=wa_id)],
                       contacts=[wa_contact(name, wa_id=wa_id)])
    return encode(whatsapp_payload(wa_entry(waba_id, [change])))


def wa_status_body(phone_number_id: str, wamid: str, status: str, *, waba_id: str = "102290129340398",
                   **kw: Any) -> bytes:
    change = wa_change(phone_number_id, statuses=[wa_status(wamid, status, **kw)])
    return encode(whatsapp_payload(wa_entry(waba_id, [change])))


# --- Messenger (Facebook Page) --------------------------------------------------------------------------

def fb_message(psid: str, mid: str, text: str = "", *, page_id: str = "", timestamp: int | None = None,
               attachments: list[dict[str, Any]] | None = None, is_echo: bool = False,
               quick_reply: str | None = None) -> dict[str, Any]:
    """One Page ``messaging[]`` message item from the customer ``psid`` (``is_echo``: the Page's own message
    coming back, sender and recipient swapped as Meta sends it)."""
    item = ig_dm(psid, mid, text, recipient=page_id, timestamp=timestamp, attachments=attachments,
                 is_echo=is_echo, quick_reply=quick_reply)
    if is_echo:
        item["sender"], item["recipient"] = {"id": page_id}, {"id": psid}
        item["message"]["app_id"] = 1517776481860111
    return item


def fb_postback(psid: str, payload: str, *, title: str | None = None, mid: str | None = None,
                page_id: str = "", timestamp: int | None = None) -> dict[str, Any]:
    """A button tap (``postback``): Meta sends ``title`` and ``mid`` with newer payloads only."""
    postback: dict[str, Any] = {"payload": payload}
    if title is not None:
        postback["title"] = title
    if mid is not None:
        postback["mid"] = mid
    return {"sender": {"id": psid}, "recipient": {"id": page_id},
            "timestamp": timestamp if timestamp is not None else _ms(), "postback": postback}


def fb_receipt(psid: str, kind: str, *, page_id: str = "", watermark: int | None = None) -> dict[str, Any]:
    """A ``delivery`` or ``read`` receipt (nothing the bot answers)."""
    receipt: dict[str, Any] = {"watermark": watermark or _ms(), "seq": 0}
    if kind == "delivery":
        receipt["mids"] = ["mid.delivered"]
    return {"sender": {"id": psid}, "recipient": {"id": page_id}, "timestamp": _ms(), kind: receipt}


def fb_entry(page_id: str, messaging: list[dict[str, Any]], *, time_ms: int | None = None) -> dict[str, Any]:
    """An entry for the Page ``page_id`` (fills missing recipient ids with the Page)."""
    return ig_dm_entry(page_id, messaging, time_ms=time_ms)


def page_payload(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": list(entries)}


def fb_text_body(page_id: str, psid: str, mid: str, text: str) -> bytes:
    """Shortcut: the raw bytes of a single-message Page webhook."""
    return encode(page_payload(fb_entry(page_id, [fb_message(psid, mid, text)])))


# --- Telegram (not Meta, but the same convenience for webhook tests) ---------------------------------

def tg_update(update_id: int, text: str, *, chat_id: int = 555000111, user_id: int | None = None,
              message_id: int = 1, edited: bool = False, date: int | None = None,
              username: str = "customer", first_name: str = "Ann") -> bytes:
    """Raw bytes of a Telegram text update (``edited=True``: an ``edited_message``)."""
    now = date or int(time.time())
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": user_id or chat_id, "is_bot": False, "first_name": first_name, "username": username,
                 "language_code": "en"},
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "first_name": first_name},
        "date": now, "text": text,
    }
    if edited:
        message["edit_date"] = now + 5
    key = "edited_message" if edited else "message"
    return json.dumps({"update_id": update_id, key: message}).encode()


def tg_callback(update_id: int, data: str, *, chat_id: int = 555000111, query_id: str = "4382bfdwdsb323b2d9",
                message_id: int = 7, user_id: int | None = None) -> bytes:
    """Raw bytes of a ``callback_query`` update (an inline button press)."""
    user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann", "username": "customer"}
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
    message = {"message_id": message_id, "chat": chat, "date": 1, "text": "?"}
    query = {"id": query_id, "from": user, "chat_instance": "-1", "message": message, "data": data}
    return json.dumps({"update_id": update_id, "callback_query": query}).encode()
