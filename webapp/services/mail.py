"""Outgoing email for the platform itself (sign-up confirmations, password resets, later notifications).

Mail is a side effect that must never take a page down: with no SMTP_HOST configured (development, tests)
a message is logged as "not sent: no SMTP configured"; an SMTP error is logged too. `send_mail` answers
whether the message left, so a page can tell the person when it matters, and nothing raises.

Settings (webapp/config.py, README Configuration): SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD,
SMTP_STARTTLS or SMTP_SSL, SMTP_TIMEOUT, MAIL_FROM.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import NamedTuple

from flask import current_app

log = logging.getLogger(__name__)


class Mail(NamedTuple):
    """One message written and not sent yet (`send_mail(*mail)`): a job writes it while it holds the database,
    then lets that go before it waits on the SMTP server."""

    to: str
    subject: str
    text: str
    html: str | None = None


def mail_configured() -> bool:
    """Whether mail can be sent at all: pages that promise an email say otherwise when it cannot."""
    return bool(current_app.config.get("SMTP_HOST"))


def build_message(to: str, subject: str, text: str, html: str | None = None) -> EmailMessage:
    """The message as sent: plain text, plus an HTML alternative when given (clients pick one)."""
    config = current_app.config
    sender = config.get("MAIL_FROM") or "TemoWeb Bots <no-reply@localhost>"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_mail(to: str, subject: str, text: str, html: str | None = None) -> bool:
    """Sends one message; True when the SMTP server accepted it. Never raises: a mail that cannot go is
    logged (without its body, which may hold a one-time link) and the caller decides what to tell."""
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        log.warning("mail to %s (%r) not sent: no SMTP configured", to, subject)
        return False
    try:
        message = build_message(to, subject, text, html)
        port = int(config.get("SMTP_PORT") or (465 if config.get("SMTP_SSL") else 587))
        timeout = float(config.get("SMTP_TIMEOUT") or 10)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if config.get("SMTP_SSL"):
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if config.get("SMTP_STARTTLS") and not config.get("SMTP_SSL"):
                smtp.starttls(context=context)
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException, ValueError) as exc:  # socket errors, refusals, bad headers
        log.error("mail to %s (%r) not sent: %s", to, subject, exc)
        return False
    log.info("mail to %s (%r) sent", to, subject)
    return True
