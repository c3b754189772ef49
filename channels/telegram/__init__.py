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

import logging

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

from gateway.work import dispatch as handlers
from gateway.work import media_fetch, outbound

from . import handler, media, sender
from .updates import CHANNEL, PROVIDER
from .webhook import TelegramWebhook

__all__ = ["blueprint"]

log = logging.getLogger(__name__)

blueprint = Blueprint("telegram", __name__)
blueprint.add_url_rule("/telegram/webhook", view_func=TelegramWebhook().view(), methods=["POST"])


@blueprint.record_once
def _warn_without_secret(state: BlueprintSetupState) -> None:
    settings = state.app.extensions["gateway"].settings
    if settings.get("TELEGRAM_BOT_TOKEN") and not settings.get("TELEGRAM_WEBHOOK_SECRET"):
        log.warning("TELEGRAM_WEBHOOK_SECRET is not set: /telegram/webhook refuses every update")


outbound.register_sender(PROVIDER, sender.send)
media_fetch.register_fetcher(PROVIDER, media.fetch)
handlers.register(CHANNEL, handler.handle)
