"""System texts the bot says on its own (re-asks, fallbacks, the handoff and media replies).

Tenants write their scenario texts themselves; only texts the engine invents live here, as English msgids
marked with `N_` so `make messages` puts them in the Babel catalogs (webapp/translations) beside the rest of
the product's texts. `flows` stays free of Flask and file reading: the pipeline hands each turn the tenant
language's `gettext` (`Context.translate`, from webapp/services/bot_texts.py); without one (pure engine
tests, a script) the English text is said, so a missing catalog or translation never breaks a turn.
"""

from __future__ import annotations

from collections.abc import Callable

Translate = Callable[[str], str]


def N_(text: str) -> str:  # noqa: N802 (the gettext convention for "mark, translate later")
    """Mark a text for extraction (`pybabel extract` knows `N_`); it is translated where it is shown."""
    return text


#: key → English msgid. Placeholders are python-format (`%(choices)s`), as Babel's catalogs expect.
TEXTS: dict[str, str] = {
    "reask.text": N_("Sorry, I didn't get that. Could you answer again?"),
    "reask.name": N_("Please tell me your name."),
    "reask.phone": N_("That doesn't look like a valid phone number. Please send it with the country code, "
                      "e.g. +1 202 555 0143."),
    "reask.email": N_("That doesn't look like a valid email address. Please check it and send it again."),
    "reask.number": N_("Please send a number."),
    "reask.choice": N_("Please choose one of: %(choices)s."),
    "reask.regex": N_("That doesn't match the expected format. Please try again."),
    "fallback": N_("Thanks for your message! A manager will reply soon."),
    "media.text_only": N_("I can read text only — please type your question."),
    "handoff": N_("I'm passing you to a manager — they will reply here soon."),
    "handoff.waiting": N_("Thanks for waiting! We'll get back to you as soon as we can."),
    "grounding.unknown": N_("I don't know that for sure and don't want to guess. Shall I call a person? "
                            "They will reply here."),
    "grounding.button": N_("Talk to a person"),
    "after_end": N_("Thanks for your message! We have your request and will get back to you soon. "
                    "If you need a person now, tap the button."),
}


def text(key: str, translate: Translate | None = None, **values: str) -> str:
    """The system text `key` through `translate` (the tenant language's gettext; None: English),
    formatted with `values`."""
    msgid = TEXTS[key]
    said = translate(msgid) if translate is not None else msgid
    return said % values if values else said
