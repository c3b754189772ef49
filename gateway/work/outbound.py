"""Sending messages to reporters, whatever the provider.

A channel module registers one sender per provider with `register_sender`;
the worker calls `send` with the decrypted address and text. The gateway
knows no provider's API: that stays in `channels/`.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.core.config import Settings

# (settings, address, text, message id) -> the provider's id for the message
Sender = Callable[[Settings, str, str, int], str | None]
_senders: dict[str, Sender] = {}


class PermanentSendError(Exception):
    """The provider refused the message for good (bad number, blocked): do not retry."""


def register_sender(provider: str, sender: Sender) -> None:
    _senders[provider] = sender


def send(settings: Settings, provider: str, address: str, text: str, message_id: int) -> str | None:
    sender = _senders.get(provider)
    if sender is None:
        raise PermanentSendError(f"no sender registered for provider {provider!r}")
    return sender(settings, address, text, message_id)
