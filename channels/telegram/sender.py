"""Messages to a Telegram reporter, sent by the worker (the provider's `sender`).

- A question of the conversation goes with inline keyboard buttons for its
  options (gateway.conversation.prompts recognises it); the button's data names the
  question, so a press on an old question is not taken as an answer.
- The receipt goes with how to delete the chat, and a button that deletes
  the chat's messages (ours and the reporter's, those still deletable).
- A reply to a button press first answers the press (answerCallbackQuery:
  the client shows a spinner until then) and takes the buttons off the
  question that was answered.
- An address with the "forget" action deletes the chat's remembered
  messages and answers the press with a pop-up, and sends nothing.

Refusals that will not change (the reporter blocked the bot, the chat is
gone) raise `PermanentSendError`; network errors and flood limits raise and
are retried by the job. Error texts never carry the token or the chat id.

See https://core.telegram.org/bots/api#sendmessage,
https://core.telegram.org/bots/api#inlinekeyboardmarkup and
https://core.telegram.org/bots/api#deletemessages
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken

from gateway.conversation.prompts import SKIP_VALUE, Prompt, PromptKind, prompt_of
from gateway.core import i18n
from gateway.core.config import Settings
from gateway.core.runtime import current
from gateway.work.outbound import PermanentSendError

from . import history
from .address import Address
from .api import call
from .messages import FORGET_BUTTON, FORGET_HINT
from .updates import ANSWER_PREFIX, FORGET, LANGUAGE_PREFIX

log = logging.getLogger(__name__)
BODY_MAXLEN = 4096  # sendMessage text limit
DELETE_BATCH = 100  # deleteMessages takes 1-100 ids


def render(text: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text to send and its buttons, for one message of the gateway."""
    prompt = prompt_of(text)
    if prompt is None:
        return text, None
    if prompt.kind is PromptKind.RECEIPT:
        hint = i18n.gettext(prompt.locale, FORGET_HINT)
        button = InlineKeyboardButton(
            i18n.gettext(prompt.locale, FORGET_BUTTON), callback_data=FORGET
        )
        return f"{text}\n\n{hint}", InlineKeyboardMarkup([[button]])
    rows = _option_rows(prompt)
    return text, InlineKeyboardMarkup(rows) if rows else None


def _option_rows(prompt: Prompt) -> list[list[InlineKeyboardButton]]:
    if prompt.kind is PromptKind.LANGUAGE:
        return [
            [InlineKeyboardButton(o.label, callback_data=f"{LANGUAGE_PREFIX}{o.value}")]
            for o in prompt.options
        ]
    rows = []
    for option in prompt.options:
        # "1 Me", as the question writes it; the skip button and bare digits as they are.
        numbered = option.value != SKIP_VALUE and option.label != option.value
        label = f"{option.value} {option.label}" if numbered else option.label
        data = f"{ANSWER_PREFIX}{prompt.step}:{option.value}"
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    return rows


def _chunks(text: str) -> list[str]:
    return [text[i : i + BODY_MAXLEN] for i in range(0, len(text), BODY_MAXLEN)] or [""]


async def _answer_press(bot: Bot, to: Address, popup: str | None = None) -> None:
    """Answer a button press and take the buttons off its message; both best effort."""
    assert to.callback_id is not None
    with contextlib.suppress(BadRequest):  # too old, or answered by an earlier reply
        await bot.answer_callback_query(
            to.callback_id, text=popup, show_alert=True if popup else None
        )
    if to.message_id and popup is None:
        with contextlib.suppress(BadRequest):  # gone, or has no buttons any more
            await bot.edit_message_reply_markup(
                chat_id=to.chat_id, message_id=to.message_id, reply_markup=None
            )


async def _forget(bot: Bot, to: Address, popup: str) -> str:
    gw = current()
    wanted = set(history.deletable(gw, to.chat_id))
    if to.message_id:
        wanted.add(to.message_id)  # the button's own message, even if Redis forgot the rest
    ids = sorted(wanted)
    for start in range(0, len(ids), DELETE_BATCH):
        with contextlib.suppress(BadRequest):  # too old to delete: nothing more to do
            await bot.delete_messages(
                chat_id=to.chat_id, message_ids=ids[start : start + DELETE_BATCH]
            )
    history.forget(gw, to.chat_id)
    if to.callback_id:
        await _answer_press(bot, to, popup)
    return f"deleted:{len(ids)}"


async def _send(bot: Bot, to: Address, text: str) -> str:
    if to.action == FORGET:
        return await _forget(bot, to, text)
    if to.callback_id:
        await _answer_press(bot, to)
    body, markup = render(text)
    parts = _chunks(body)
    sent_ids = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent = await bot.send_message(
            chat_id=to.chat_id, text=part, reply_markup=markup if last else None
        )
        sent_ids.append(sent.message_id)
    history.remember(current(), to.chat_id, *sent_ids)
    return str(sent_ids[-1])


def send(settings: Settings, address: str, text: str, message_id: int) -> str | None:
    """outbound.Sender for provider "telegram": the sent message's id in its chat."""
    try:
        to = Address.decode(address)
    except (ValueError, TypeError):
        raise PermanentSendError("telegram: not a Telegram address") from None
    try:
        return call(settings, lambda bot: _send(bot, to, text))
    except Forbidden:
        raise PermanentSendError("telegram: the reporter blocked the bot or left") from None
    except ChatMigrated:
        raise PermanentSendError("telegram: not a private chat") from None
    except InvalidToken:
        log.error("telegram refused the bot token (outbound %s)", message_id)
        raise
    except BadRequest as exc:
        reason = "chat not found" if "chat not found" in exc.message.lower() else "bad request"
        raise PermanentSendError(f"telegram: {reason}") from None
