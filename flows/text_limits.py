"""Make a model's (or a tenant's) reply fit what a channel can show.

Models love Markdown; Instagram and WhatsApp show ``**bold**`` and ``# Header`` as literal characters, and
every channel rejects or truncates text past its limit (Instagram DMs: 1000 characters). A reply cut
mid-word or full of asterisks looks broken to the customer, so we strip markup to plain text and cut at a
sentence (or at least a word) boundary with an ellipsis.

The limits are not known here: like the channel names (``validate(channels=...)``), they are the caller's.
A turn receives its channel's limit in ``services.context.text_limit`` (the pipeline and the simulator take
it from the channel registry, ``connectors.channels.registry.text_limit``); other callers pass it to
:func:`fit_text`, or a channel → limit map to :func:`fit_for_channel`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

DEFAULT_LIMIT = 1000  # a channel whose limit the caller did not give gets the strictest common limit
ELLIPSIS = "…"

_CODE_FENCE = re.compile(r"```[^\n]*\n?(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_HEADER = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_LINK = re.compile(r"!?\[([^\]\n]+)\]\((\S+?)\)")
_BULLET = re.compile(r"^([ \t]*)[*+][ \t]+", re.MULTILINE)
_HRULE = re.compile(r"^[ \t]*([-*_])([ \t]*\1){2,}[ \t]*$", re.MULTILINE)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_BLOCK_END = re.compile(r"</(p|div|li|h[1-6])\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^<>]*)?/?>")
_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_SENTENCE_END = re.compile(r"[.!?…](?=[\s\"'»)]|$)|\n")


def _link_text(match: re.Match[str]) -> str:
    label, url = match.group(1), match.group(2)
    return label if label == url else f"{label} ({url})"


def strip_markup(text: str) -> str:
    """Markdown and HTML → plain text; the words are kept, only the decoration goes.

    Links keep their text and URL ("Price list (https://…)") because a bare word loses the address.
    """
    text = text.replace("\r\n", "\n")
    text = _CODE_FENCE.sub(lambda m: m.group(1).strip("\n"), text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _BR.sub("\n", text)
    text = _BLOCK_END.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _HRULE.sub("", text)
    text = _HEADER.sub(r"\1", text)
    text = _LINK.sub(_link_text, text)
    text = _BOLD.sub(r"\2", text)
    text = _STRIKE.sub(r"\1", text)
    text = _ITALIC_STAR.sub(r"\1", text)
    text = _ITALIC_UNDERSCORE.sub(r"\1", text)
    text = _BULLET.sub(r"\1• ", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a sentence end, else a word boundary, plus "…".

    A sentence boundary is used only if it keeps at least half of the allowed length; otherwise losing
    half the answer is worse than ending mid-sentence at a word.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return text[:limit]
    room = limit - len(ELLIPSIS)
    head = text[: room + 1]  # one extra char tells whether the cut falls exactly on a boundary
    sentence_cut = 0
    for match in _SENTENCE_END.finditer(head):
        if match.end() <= room:
            sentence_cut = match.end()
    if sentence_cut >= room // 2:
        return text[:sentence_cut].rstrip() + ELLIPSIS
    word_cut = head.rfind(" ")
    if word_cut >= room // 2:
        return text[:word_cut].rstrip(" ,;:-–—") + ELLIPSIS
    return text[:room].rstrip() + ELLIPSIS


def fit_text(text: str, limit: int | None = None) -> str:
    """Plain text within ``limit`` characters (the channel's, given by the caller; None: ``DEFAULT_LIMIT``).

    Markup is stripped for every channel: Instagram and WhatsApp can't render Markdown/HTML at all, and our
    Telegram/web chat senders send plain text too (no parse_mode), so asterisks would show there as well.
    """
    return truncate(strip_markup(text or ""), limit if limit and limit > 0 else DEFAULT_LIMIT)


def fit_for_channel(text: str, channel: str, limits: Mapping[str, int] | None = None) -> str:
    """:func:`fit_text` with the limit of ``channel`` in ``limits``, the caller's channel → limit map
    (a channel it does not list, or no map at all, gets ``DEFAULT_LIMIT``)."""
    return fit_text(text, (limits or {}).get(channel))
