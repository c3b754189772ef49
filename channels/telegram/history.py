"""Which messages of a chat the "delete these messages" button may delete.

Telegram lets a bot delete, for 48 hours, its own messages and the
reporter's messages in a private chat; it needs their ids. They are kept in
Redis, in a set under a keyed hash of the chat id (`Pseudonymizer.digest`:
no chat id in a key or a value), expiring after those 48 hours, since older
messages cannot be deleted anyway. Only message ids are kept: on their own
they say nothing about a reporter or what was said.

This is a convenience, not a record: if Redis loses the set, the button
still deletes the message it is on, and the instructions sent with the
receipt tell the reporter how to delete the whole chat themselves.

See https://core.telegram.org/bots/api#deletemessage and #deletemessages
"""

from __future__ import annotations

import logging

from gateway.core.runtime import Gateway

log = logging.getLogger(__name__)
DELETABLE_SECONDS = 48 * 3600  # Telegram's limit for deleteMessage
MAX_KEPT = 1000


def _key(gw: Gateway, chat_id: int) -> str:
    return f"telegram:messages:{gw.pseudonyms.digest('telegram-chat', str(chat_id))}"


def remember(gw: Gateway, chat_id: int, *message_ids: int | None) -> None:
    """Note messages of the chat (ours and the reporter's) for a later deletion."""
    ids = [m for m in message_ids if m]
    if not ids:
        return
    try:
        key = _key(gw, chat_id)
        pipe = gw.redis.pipeline()
        pipe.sadd(key, *ids)
        pipe.expire(key, DELETABLE_SECONDS)
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - never fail a message for this convenience
        log.warning("telegram message history not kept: %s", type(exc).__name__)


def deletable(gw: Gateway, chat_id: int) -> list[int]:
    """The chat's remembered message ids, newest first, at most MAX_KEPT."""
    try:
        members = gw.redis.smembers(_key(gw, chat_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("telegram message history unavailable: %s", type(exc).__name__)
        return []
    return sorted((int(m) for m in members), reverse=True)[:MAX_KEPT]


def forget(gw: Gateway, chat_id: int) -> None:
    """Drop the chat's remembered ids once they are deleted."""
    try:
        gw.redis.delete(_key(gw, chat_id))
    except Exception as exc:  # noqa: BLE001
        log.warning("telegram message history not dropped: %s", type(exc).__name__)
