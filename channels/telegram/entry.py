"""The worker's two ways into Telegram, without python-telegram-bot at import.

python-telegram-bot costs every process some 7 MiB. The channel package
names these two functions in its descriptor; each loads sender.py or
media.py (and the library) on its first call, so a gateway whose bot is
not configured never carries it, and one whose bot is loads it on the
first Telegram message (bench/README.md, memory).
"""

from __future__ import annotations

from gateway.core.config import Settings

from .loggers import quiet_loggers

quiet_loggers()


def send(settings: Settings, address: str, text: str, message_id: int) -> str | None:
    """outbound.Sender for provider "telegram" (sender.send)."""
    from . import sender  # noqa: PLC0415 - python-telegram-bot, loaded by the first message

    return sender.send(settings, address, text, message_id)


def fetch(settings: Settings, url: str, size_limit: int) -> bytes:
    """media_fetch.Fetcher for provider "telegram" (media.fetch)."""
    from . import media  # noqa: PLC0415 - python-telegram-bot, loaded by the first file

    return media.fetch(settings, url, size_limit)
