"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and the `smtp_server` fixture
that points the app's outgoing mail at it for one test."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def _free_port() -> int:
    """aiosmtpd's controller cannot start on port 0 (it connects to its own port to check it is up)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    """aiosmtpd's handler: every accepted message, parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(),
                                          policy=email.policy.default)
        with self.arrived:
            self.messages.append(parsed)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.notify_all()
        return "250 OK"


class FakeSMTP:
    """Started on a free loopback port; `messages` are what arrived, `wait_for(n)` blocks until n did."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=_free_port())

    def start(self) -> FakeSMTP:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.inbox.messages)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        with self.inbox.arrived:
            self.inbox.arrived.wait_for(lambda: len(self.inbox.messages) >= count, timeout)
        return self.messages

    def link(self, message: EmailMessage, path: str) -> str:
        """The path of the first link to `path...` in the plain-text body (what the person would follow)."""
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", text)
        assert match, f"no {path} link in: {text}"
        return match.group(1)


@pytest.fixture
def smtp_server(app: Any) -> Iterator[FakeSMTP]:
    """The app sends its mail to a loopback SMTP server for this test (plain SMTP, no login)."""
    fake = FakeSMTP().start()
    saved = {key: app.config.get(key) for key in ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_SSL",
                                                  "SMTP_USER", "MAIL_FROM")}
    app.config.update(SMTP_HOST=fake.host, SMTP_PORT=fake.port, SMTP_STARTTLS=False, SMTP_SSL=False,
                      SMTP_USER="", MAIL_FROM="TemoWeb Bots <no-reply@bots.example.test>")
    try:
        yield fake
    finally:
        app.config.update(saved)
        fake.stop()
