"""The Telegram channel: a bot that takes reports in private chats.

- `POST /telegram/webhook` (webhook.py) or `complaint-gateway telegram poll`
  (polling.py) take updates in; updates.py turns them into the gateway's
  `InboundMessage`, and the core stores them once per update_id.
- The worker answers with the shared conversation (handler.py wraps it for
  the few Telegram-only things) and sends through sender.py: inline buttons
  for the questions' options, and a button after the receipt that deletes
  the chat's messages.
- Voice notes, photos and documents are fetched by media.py.

python-telegram-bot (v22) supplies the types and the Bot API client; its
`telegram.ext` application and persistence are not used: they would keep
chat ids and user data in clear. Set-up, and what Telegram keeps that the
gateway cannot delete: docs/providers/telegram.md.

See https://core.telegram.org/bots/api
"""

from __future__ import annotations

from gateway.core.config import Settings
from gateway.core.providers import Channel, Provider

from . import commands, entry, handler
from .updates import CHANNEL_NAME, PROVIDER, WEBHOOK_PATH

__all__ = ["CHANNEL"]


def without_secret(settings: Settings) -> list[str]:
    """A bot without a webhook secret: its webhook refuses every update."""
    if settings.get("TELEGRAM_BOT_TOKEN") and not settings.get("TELEGRAM_WEBHOOK_SECRET"):
        return ["TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook refuses every update"]
    return []


DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Telegram",
    routes=(WEBHOOK_PATH,),
    sender=entry.send,
    media_fetcher=entry.fetch,
    # The webhook secret is needed by the webhook only (`telegram poll` does without).
    required_settings=("TELEGRAM_BOT_TOKEN",),
    secret_settings=("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"),
    optional_settings=("TELEGRAM_API_BASE_URL",),
)

CHANNEL = Channel(
    name="telegram",
    web="channels.telegram.web",
    providers=(DESCRIPTOR,),
    conversation_channels=(CHANNEL_NAME,),
    handlers={CHANNEL_NAME: handler.handle},
    add_commands=commands.add_commands,
    checks=(without_secret,),
)
