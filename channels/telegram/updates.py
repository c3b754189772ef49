"""A Telegram update → the gateway's `InboundMessage` (webhook and polling alike).

What is taken in (https://core.telegram.org/bots/api#update):
- `message` in a private chat: its text or caption; voice notes, audio,
  photos, documents and videos as media (by file_id, fetched later by the
  worker); `/start`, `/help`, `/status`, `/stop`, `/language`, `/report`
  become the conversation's keywords; a location, a contact or a sticker
  alone is an empty message, which the conversation answers with the help
  (a contact's number and a location are never kept).
- `callback_query` from our own buttons: the button's value answers the
  question the button belongs to; "forget" asks to delete the chat's
  messages (history.py).

Ignored (200, nothing stored): updates without a message (edits, channel
posts, membership changes), button presses on messages we cannot see, and
every group, supergroup or channel chat. Reports are taken only in private
chats: an answer in a group would show everyone there that someone wrote to
the complaints bot, so the bot stays silent and stores nothing about them
(and docs/providers/telegram.md says to turn groups off at BotFather).

The sender is `tg:<chat id>`: the core's pseudonym normalises anything that
looks like a phone number, and two chat ids such as 4401234567 and 441234567
would then share one pseudonym; with the prefix the id is taken as given.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.core.config import Settings
from gateway.core.inbound import InboundMessage, MediaRef
from gateway.intake.webhook_errors import Ignored, Malformed

from .address import Address

if TYPE_CHECKING:
    # Types only: python-telegram-bot is loaded where an update is built (webhook.py, polling.py).
    from telegram import CallbackQuery, Message, Update, User

CHANNEL_NAME = PROVIDER = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
FILE_PREFIX = "tg-file:"
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # bots download files of up to 20 MB (getFile)
FORGET = "forget"
ANSWER_PREFIX = "a:"  # a:<step>:<value>
LANGUAGE_PREFIX = "lang:"  # lang:<locale>
COMMANDS = {
    "start": "",  # the empty message: the conversation answers with the help
    "help": "HELP",
    "status": "STATUS",
    "stop": "STOP",
    "language": "LANGUAGE",
    "report": "REPORT",
}


def sender_of(chat_id: int) -> str:
    return f"tg:{chat_id}"


def download_limit(settings: Settings) -> int:
    """The largest file the gateway can take from Telegram."""
    return min(DOWNLOAD_LIMIT, settings.max_upload_bytes)


def parse_update(update: Update, settings: Settings) -> list[InboundMessage]:
    """The message an update carries.

    Raises:
        Ignored: not something to take in (see the module docstring).
        Malformed: the update lacks what identifies its message.
    """
    if update.callback_query is not None:
        return [_from_callback(update.update_id, update.callback_query)]
    if update.message is not None:
        return [_from_message(update.update_id, update.message, settings)]
    raise Ignored()


def _language(user: User | None) -> str | None:
    """The user's IETF language tag reduced to its language (`pt-br` → `pt`), if it is one."""
    code = user.language_code if user is not None else None
    if not isinstance(code, str):
        return None
    language = code.split("-")[0].lower()
    return language if language.isascii() and language.isalpha() and len(language) <= 8 else None


def _private_chat_id(message: Message) -> int:
    if message.chat is None or message.chat.id is None:
        raise Malformed("message.chat")
    if message.chat.type != "private":
        raise Ignored()
    return int(message.chat.id)


def _command(message: Message, text: str) -> tuple[str, bool]:
    """(the text the conversation gets, whether it came from the bot's command menu)."""
    entity = next(
        (e for e in message.entities or () if e.type == "bot_command" and e.offset == 0), None
    )
    if entity is None:
        return text, False
    name = text[1 : entity.length].split("@")[0].lower()
    rest = text[entity.length :].strip()
    keyword = COMMANDS.get(name)
    if keyword is None:  # an unknown command: its words, if any, are still a message
        return (text if rest else ""), False
    if not keyword:
        return "", True
    return (f"{keyword} {rest}".strip()), True


def _media(message: Message, limit: int) -> tuple[list[MediaRef], bool]:
    """The message's files (by file_id), and whether one was over the limit."""
    candidates: list[tuple[str, str | None, int | None]] = []
    if message.photo:
        fitting = [p for p in message.photo if p.file_size is None or p.file_size <= limit]
        biggest = max(
            fitting or message.photo, key=lambda p: (p.width * p.height, p.file_size or 0)
        )
        candidates.append((biggest.file_id, "image/jpeg", biggest.file_size))
    for item, default in (
        (message.voice, "audio/ogg"),
        (message.audio, "audio/mpeg"),
        (message.video, "video/mp4"),
        (message.video_note, "video/mp4"),
        (message.document, None),
    ):
        if item is not None:
            mime = getattr(item, "mime_type", None) or default
            candidates.append((item.file_id, mime, item.file_size))
    refs, too_large = [], False
    for file_id, content_type, size in candidates:
        if size is not None and size > limit:
            too_large = True
            continue
        refs.append(MediaRef(f"{FILE_PREFIX}{file_id}", content_type, size))
    return refs, too_large


def _from_message(update_id: int, message: Message, settings: Settings) -> InboundMessage:
    chat_id = _private_chat_id(message)
    text, from_menu = _command(message, message.text or message.caption or "")
    media, too_large = _media(message, download_limit(settings))
    extra = []
    if from_menu:
        extra.append(("menu_command", "1"))
    if too_large:
        extra.append(("media_too_large", "1"))
    return InboundMessage(
        channel=CHANNEL_NAME,
        provider=PROVIDER,
        provider_message_id=str(update_id),
        sender=sender_of(chat_id),
        text=text,
        media=tuple(media),
        language_hint=_language(message.from_user),
        received_at=message.date or datetime.now(UTC),
        reply_to=Address(chat_id, message.message_id).encode(),
        extra=tuple(extra),
    )


def _from_callback(update_id: int, query: CallbackQuery) -> InboundMessage:
    """A button press: the value of one of our buttons, as the reporter would type it."""
    if query.message is None:
        raise Ignored()  # a button under an inline-mode message: not one of ours
    chat = query.message.chat
    if chat.type != "private":
        raise Ignored()
    data = query.data or ""
    text, extra = "", []
    if data == FORGET:
        extra.append(("action", FORGET))
    elif data.startswith(ANSWER_PREFIX):
        step, _, value = data[len(ANSWER_PREFIX) :].partition(":")
        text = value
        extra.append(("answers_step", step))
    elif data.startswith(LANGUAGE_PREFIX):
        text = f"LANGUAGE {data[len(LANGUAGE_PREFIX) :]}"
        extra.append(("menu_command", "1"))
    # Anything else (not our data): an empty message, answered with the help.
    return InboundMessage(
        channel=CHANNEL_NAME,
        provider=PROVIDER,
        provider_message_id=str(update_id),
        sender=sender_of(int(chat.id)),
        text=text,
        language_hint=_language(query.from_user),
        reply_to=Address(int(chat.id), query.message.message_id, str(query.id)).encode(),
        extra=tuple(extra),
    )
