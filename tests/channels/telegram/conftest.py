"""Telegram fixtures: a local Bot API server, and a reporter who writes to the bot.

The gateway's TELEGRAM_API_BASE_URL points at `tests.support.telegram_api`
on 127.0.0.1; the reporter posts updates to the real webhook and the worker
jobs run in-process, so every step (parsing, storing, the conversation,
the sender, python-telegram-bot's HTTP calls) is the production code.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.jobs import run_jobs
from tests.support.telegram_api import TelegramAPI

TOKEN = "123456:TEST-TOKEN"
SECRET = "test-webhook-secret_0123"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "telegram"
CHAT_ID = 987654321
USER = {
    "id": CHAT_ID,
    "is_bot": False,
    "first_name": "Amani",
    "last_name": "Testperson",
    "username": "amani_testperson",
    "language_code": "en",
}
_update_ids = itertools.count(810000000)


def fixture_body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads(fixture_body(name))


@pytest.fixture
def env(env: dict[str, str], telegram_api: TelegramAPI) -> dict[str, str]:
    """The shared test environment, with the bot pointed at the local Bot API."""
    return {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }


class Reporter:
    """Someone in a private chat with the bot, on the Telegram side of the webhook."""

    def __init__(self, client, gw, api: TelegramAPI, user: dict[str, Any] | None = None) -> None:  # type: ignore[no-untyped-def]
        self.client, self.gw, self.api = client, gw, api
        self.user = user or USER
        self.chat_id = int(self.user["id"])
        self.chat = {k: self.user[k] for k in ("id", "first_name", "last_name", "username")}
        self.chat["type"] = "private"

    def post(self, update: dict[str, Any]) -> int:
        response = self.client.post(
            "/telegram/webhook",
            data=json.dumps(update),
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            content_type="application/json",
        )
        return response.status_code

    def _deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Post the update, let the worker run, return what the bot sent in answer."""
        before = len(self.api.sent(self.chat_id))
        assert self.post(update) == 200
        run_jobs(self.gw)
        return self.api.sent(self.chat_id)[before:]

    def message(self, **fields: Any) -> dict[str, Any]:
        """An update with a new message from the reporter (held in the chat, as Telegram would)."""
        message_id = self.api.add_user_message(self.chat_id, fields.get("text"))
        message = {
            "message_id": message_id,
            "from": self.user,
            "chat": self.chat,
            "date": 1767225600,
            **fields,
        }
        return {"update_id": next(_update_ids), "message": message}

    def send(self, text: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        if text is not None:
            fields["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                fields["entities"] = [{"offset": 0, "length": length, "type": "bot_command"}]
        return self._deliver(self.message(**fields))

    def press(self, data: str, on: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Press the button with `data` on a bot message (by default the last one)."""
        on = on or self.api.sent(self.chat_id)[-1]
        query = {
            "id": f"cbq-{next(_update_ids)}",
            "from": self.user,
            "message": on,
            "chat_instance": "-8123456789012345678",
            "data": data,
        }
        return self._deliver({"update_id": next(_update_ids), "callback_query": query})

    def choose(self, value: str) -> list[dict[str, Any]]:
        """Press the button of the last question whose data ends with `:<value>`."""
        last = self.api.sent(self.chat_id)[-1]
        buttons = [b for row in buttons_of(last) for b in row]
        [button] = [b for b in buttons if b["callback_data"].endswith(f":{value}")]
        return self.press(button["callback_data"], on=last)


def buttons_of(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    return (message.get("reply_markup") or {}).get("inline_keyboard", [])


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


@pytest.fixture
def reporter(client, gw, telegram_api) -> Reporter:  # type: ignore[no-untyped-def]
    return Reporter(client, gw, telegram_api)
