"""The Telegram channel's web side: the bot's webhook, on its blueprint.

Imported by web processes only (the channel's `web`); the worker sends and
polls without Flask.
"""

from __future__ import annotations

from flask import Blueprint

from .updates import WEBHOOK_PATH
from .webhook import TelegramWebhook

blueprint = Blueprint("telegram", __name__)
blueprint.add_url_rule(WEBHOOK_PATH, view_func=TelegramWebhook().view(), methods=["POST"])
