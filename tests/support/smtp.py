"""A local SMTP server (aiosmtpd) that keeps what it receives, for the e-mail alerts' tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


class Inbox:
    """The server's handler: every message with its envelope recipients; refuses some."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    def mails(self) -> list[Message]:
        return [message_from_bytes(raw) for _, raw in self.messages]


def free_port() -> int:
    """A port nothing listens on (aiosmtpd checks its own port, so it needs a real one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def loopback_smtp(port: int | None = None) -> Iterator[tuple[Inbox, int]]:
    """A plain relay on the loopback (no TLS, no password), as SMTP_STARTTLS=false allows."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
