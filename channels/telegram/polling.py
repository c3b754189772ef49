"""`complaint-gateway telegram poll` and `telegram set-webhook`.

Polling is for a deployment with no public HTTPS address: getUpdates long
polling feeds the same parsing and `intake.submit` as the webhook. Telegram
forgets an update only when getUpdates is called with an offset above its
id, and the offset moves past a batch only once the batch is stored (in the
database, or in the local spool while the database is down: the poller
loads its spool itself), so a crash or an outage loses nothing; a batch
delivered twice is stored once (updates are deduplicated by update_id). Telegram refuses getUpdates
while a webhook is set, so `poll` removes the webhook first (keeping the
updates waiting in it).

`set-webhook` registers PUBLIC_BASE_URL + /telegram/webhook with the secret
and only the update types the gateway takes.

See https://core.telegram.org/bots/api#getupdates and
https://core.telegram.org/bots/api#setwebhook
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError

from gateway.core.config import ConfigError, Settings
from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.intake import submit as intake
from gateway.intake.webhook_errors import WebhookError
from gateway.work import spool

from .api import call, make_bot, token
from .updates import WEBHOOK_PATH, parse_update

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook accepts
RETRY_SECONDS = 5.0


def messages_of(updates: tuple[Update, ...], gw: Gateway) -> list[InboundMessage]:
    """The messages a batch holds; updates that are not messages are skipped."""
    messages = []
    for update in updates:
        try:
            messages.extend(parse_update(update, gw.settings))
        except WebhookError:  # Ignored or Malformed: nothing to take in, move past it
            log.info("telegram update %s skipped", update.update_id)
    return messages


def _load_spool(gw: Gateway) -> None:
    """Messages spooled while the database was down go in first, once it answers."""
    try:
        if spool.pending(gw):
            spool.load(gw)
    except Exception as exc:  # noqa: BLE001 - still down: they stay spooled on disk
        log.warning("telegram spool not loaded yet: %s", type(exc).__name__)


async def _poll(gw: Gateway, bot: Bot, cycles: int | None, timeout: int, pause: float) -> int:
    """Store updates until `cycles` getUpdates calls were made (None: for ever)."""
    offset: int | None = None
    stored, done = 0, 0
    while cycles is None or done < cycles:
        done += 1
        _load_spool(gw)
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES
            )
        except Conflict:
            raise ConfigError("another process is polling this bot, or a webhook is set") from None
        except InvalidToken:
            raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN") from None
        except TelegramError as exc:
            log.warning("telegram getUpdates failed: %s", type(exc).__name__)
            await asyncio.sleep(pause)
            continue
        if not updates:
            continue
        try:
            submitted = intake.submit(gw, messages_of(updates, gw))
        except Exception as exc:  # noqa: BLE001 - not stored: the offset stays, Telegram keeps them
            log.error("telegram updates not stored, will fetch again: %s", type(exc).__name__)
            await asyncio.sleep(pause)
            continue
        stored += sum(not s.duplicate for s in submitted)
        offset = max(u.update_id for u in updates) + 1  # confirmed by the next getUpdates
    return stored


def run_polling(
    gw: Gateway, cycles: int | None = None, timeout: int = 50, pause: float = RETRY_SECONDS
) -> int:
    """Poll Telegram and store what comes; returns the number of new messages stored.

    Args:
        gw: the gateway (database and Redis) to store into.
        cycles: getUpdates calls to make; None polls until interrupted.
        timeout: seconds each getUpdates call waits for an update (long polling).
        pause: seconds to wait after a failure before fetching again.
    """
    bot, requests = make_bot(gw.settings, read_timeout=timeout + 10.0)

    async def main() -> int:
        try:
            try:
                await bot.delete_webhook(drop_pending_updates=False)
            except InvalidToken:
                raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN") from None
            return await _poll(gw, bot, cycles, timeout, pause)
        finally:
            for request in requests:
                await request.shutdown()

    return asyncio.run(main())


def webhook_url(settings: Settings) -> str:
    public = settings.public_base_url
    if not public or not public.startswith("https://"):
        raise ConfigError("PUBLIC_BASE_URL must be the gateway's https:// address for a webhook")
    return public + WEBHOOK_PATH


def set_webhook(settings: Settings) -> str:
    """Register the webhook with Telegram; the URL it registered."""
    token(settings)
    secret = settings.get("TELEGRAM_WEBHOOK_SECRET") or ""
    if not SECRET_FORMAT.fullmatch(secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    url = webhook_url(settings)
    try:
        call(
            settings,
            lambda bot: bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            ),
        )
    except InvalidToken:
        raise ConfigError("Telegram refused TELEGRAM_BOT_TOKEN") from None
    return url
