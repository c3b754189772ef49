"""`POST /telegram/webhook`: the Bot API's webhook, behind the Flask app.

Telegram sends each update as JSON with the secret given to setWebhook in
`X-Telegram-Bot-Api-Secret-Token`; anything else gets 403 and changes
nothing. The update is parsed with python-telegram-bot's types, stored once
per `update_id` (the provider message id) and answered 200 at once: the
conversation, replies and downloads happen in the worker. A 2xx is what
keeps Telegram from delivering the update again.

See https://core.telegram.org/bots/api#setwebhook and
https://core.telegram.org/bots/api#update
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from flask import Request

from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.intake.webhook_errors import Forbidden, Malformed, secret_matches
from gateway.intake.webhooks import WebhookAdapter

from .updates import PROVIDER, parse_update

if TYPE_CHECKING:
    from telegram import Update

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
_MESSAGE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")
MAX_DATE = 253402300799  # 9999-12-31 23:59:59 UTC, the last second a datetime holds


def _readable_date(value: Any) -> bool:
    """Epoch seconds that a datetime can hold (a huge number overflows the platform's time_t)."""
    return type(value) is int and 0 <= value <= MAX_DATE


def _tolerant(data: dict[str, Any]) -> dict[str, Any]:
    """A message date in an unexpected format must not lose the report: now stands in."""
    for key in _MESSAGE_KEYS:
        message = data.get(key)
        if isinstance(message, dict) and not _readable_date(message.get("date")):
            message["date"] = int(time.time())
    query = data.get("callback_query")
    pressed = query.get("message") if isinstance(query, dict) else None
    if isinstance(pressed, dict) and not _readable_date(pressed.get("date")):
        pressed["date"] = 0  # 0 is how Telegram marks an inaccessible message
    return data


def update_from_json(raw: bytes) -> Update:
    """python-telegram-bot's `Update` for a webhook body.

    Raises:
        Malformed: not JSON, or not an update.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        raise Malformed("body is not JSON") from None
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise Malformed("update_id")
    from telegram import Update  # noqa: PLC0415 - python-telegram-bot, loaded by the first update

    try:
        return Update.de_json(_tolerant(data), None)
    except (TypeError, ValueError, KeyError, AttributeError):
        raise Malformed("update") from None


class TelegramWebhook(WebhookAdapter):
    provider = PROVIDER
    endpoint = "telegram"

    def verify(self, req: Request, gw: Gateway) -> None:
        expected = gw.settings.get("TELEGRAM_WEBHOOK_SECRET")
        if not secret_matches(req.headers.get(SECRET_HEADER), expected):
            raise Forbidden()

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        return parse_update(update_from_json(req.get_data()), gw.settings)
