"""How the gateway answers a Telegram reporter: the opaque `reply_to` address.

The core stores this string only encrypted and hands it back to the sender
(outbound.Sender) unchanged. Besides the chat it names the message being
answered, so the sender can do what Telegram wants with it: answer a button
press (answerCallbackQuery), take the buttons off the question that was
answered, and remember message ids for the reporter's "delete these
messages" button (history.py).

See https://core.telegram.org/bots/api#answercallbackquery
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Address:
    chat_id: int
    # The reporter's message being answered, or the bot's message whose button was pressed.
    message_id: int | None = None
    callback_id: str | None = None  # the button press to answer
    action: str | None = None  # "forget": delete the chat's messages instead of sending

    def encode(self) -> str:
        """The compact JSON the core stores encrypted."""
        fields = {"chat": self.chat_id, "msg": self.message_id, "cb": self.callback_id}
        fields["do"] = self.action
        return json.dumps({k: v for k, v in fields.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Address:
        """An address as `encode` wrote it, or a bare chat id.

        Raises:
            ValueError: the text is neither.
        """
        text = text.strip()
        if text.lstrip("-").isdigit():
            return cls(int(text))
        fields = json.loads(text)
        if not isinstance(fields, dict) or not isinstance(fields.get("chat"), int):
            raise ValueError("not a Telegram address")
        return cls(
            chat_id=fields["chat"],
            message_id=fields.get("msg"),
            callback_id=fields.get("cb"),
            action=fields.get("do"),
        )

    def doing(self, action: str) -> Address:
        return replace(self, action=action)
