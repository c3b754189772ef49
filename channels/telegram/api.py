"""The Bot API client: python-telegram-bot's `Bot`, driven from synchronous code.

Workers and the command line are synchronous; python-telegram-bot is
asyncio. `call(settings, fn)` runs one coroutine on a fresh event loop with
a fresh `Bot` whose HTTP clients it opens and closes itself, so it works any
number of times in one process (an RQ worker sends message after message)
and leaves no connection behind on a closed loop. No `getMe` round trip is
made per call (`Bot.initialize` would make one).

The bot token is part of every Bot API URL (`/bot<token>/…`), so the loggers
that would print URLs or request parameters (httpx at INFO,
python-telegram-bot at DEBUG, with chat ids and texts) are held at WARNING.

See https://core.telegram.org/bots/api#making-requests and
https://docs.python-telegram-bot.org/en/stable/telegram.bot.html
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot
from telegram.request import HTTPXRequest

from gateway.core import tls
from gateway.core.config import ConfigError, Settings

from .loggers import quiet_loggers

DEFAULT_API_BASE_URL = "https://api.telegram.org"
T = TypeVar("T")

quiet_loggers()


def token(settings: Settings) -> str:
    value = settings.get("TELEGRAM_BOT_TOKEN")
    if not value:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set (the token BotFather gave the bot)")
    return value


def api_base_url(settings: Settings) -> str:
    """TELEGRAM_API_BASE_URL without a trailing slash (the root, without /bot)."""
    return (settings.get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")


def make_bot(settings: Settings, read_timeout: float = 10.0) -> tuple[Bot, list[HTTPXRequest]]:
    """A Bot for TELEGRAM_API_BASE_URL, and the request objects the caller must shut down."""
    root = api_base_url(settings)
    shared = {"verify": tls.context()}  # not a CA bundle loaded per client (core/tls.py)
    requests = [
        HTTPXRequest(connection_pool_size=2, read_timeout=read_timeout, httpx_kwargs=shared),
        HTTPXRequest(connection_pool_size=1, read_timeout=read_timeout, httpx_kwargs=shared),
    ]
    bot = Bot(
        token(settings),
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=requests[0],
        get_updates_request=requests[1],
    )
    return bot, requests


def call(settings: Settings, fn: Callable[[Bot], Awaitable[T]], read_timeout: float = 10.0) -> T:
    """Run `fn(bot)` to completion from synchronous code.

    Raises:
        Whatever `fn` raises (python-telegram-bot's `TelegramError` family for
        refusals and network errors). Their messages can quote the token: log
        the type, never the text.
    """

    async def main() -> T:
        bot, requests = make_bot(settings, read_timeout)
        try:
            return await fn(bot)
        finally:
            for request in requests:
                await request.shutdown()

    return asyncio.run(main())
