"""System texts the bot says on its own (re-asks, fallbacks), per tenant language.

Tenants write their scenario texts themselves; only texts the engine invents live here. An unknown
language falls back to English so a missing translation never breaks a turn.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "reask.text": "Sorry, I didn't get that. Could you answer again?",
        "reask.name": "Please tell me your name.",
        "reask.phone": "That doesn't look like a valid phone number. Please send it with the country code, "
        "e.g. +1 202 555 0143.",
        "reask.email": "That doesn't look like a valid email address. Please check it and send it again.",
        "reask.number": "Please send a number.",
        "reask.choice": "Please choose one of: {choices}.",
        "reask.regex": "That doesn't match the expected format. Please try again.",
        "fallback": "Thanks for your message! A manager will reply soon.",
        "media.text_only": "I can read text only — please type your question.",
        "handoff": "I'm passing you to a manager — they will reply here soon.",
        "handoff.waiting": "Thanks for waiting! We'll get back to you as soon as we can.",
        "grounding.unknown": "I don't know that for sure and don't want to guess. Shall I call a person? "
        "They will reply here.",
        "grounding.button": "Talk to a person",
        "after_end": "Thanks for your message! We have your request and will get back to you soon. "
        "If you need a person now, tap the button.",
    },
    "ru": {
        "reask.text": "Извините, я не понял. Ответьте, пожалуйста, ещё раз.",
        "reask.name": "Пожалуйста, напишите ваше имя.",
        "reask.phone": "Похоже, номер телефона неверный. Отправьте его с кодом страны, "
        "например +7 912 345-67-89.",
        "reask.email": "Похоже, адрес почты неверный. Проверьте и отправьте ещё раз.",
        "reask.number": "Пожалуйста, отправьте число.",
        "reask.choice": "Пожалуйста, выберите один из вариантов: {choices}.",
        "reask.regex": "Ответ не подходит по формату. Попробуйте ещё раз.",
        "fallback": "Спасибо за сообщение! Менеджер скоро ответит.",
        "media.text_only": "Я понимаю только текст — пожалуйста, напишите ваш вопрос.",
        "handoff": "Передаю вас менеджеру — он скоро ответит здесь.",
        "handoff.waiting": "Спасибо за ожидание! Мы ответим вам, как только сможем.",
        "grounding.unknown": "Точно не знаю и не хочу гадать. Позвать человека? Он ответит здесь.",
        "grounding.button": "Позовите человека",
        "after_end": "Спасибо за сообщение! Ваша заявка у нас, мы скоро свяжемся с вами. "
        "Если нужен человек прямо сейчас, нажмите кнопку.",
    },
}


def text(key: str, language: str | None, **values: str) -> str:
    """Return the system text `key` in `language` (English when unknown), formatted with `values`."""
    table = TEXTS.get(language or DEFAULT_LANGUAGE, TEXTS[DEFAULT_LANGUAGE])
    template = table.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
