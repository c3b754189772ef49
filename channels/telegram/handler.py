"""What the worker does with a stored Telegram update, around the shared conversation.

Every update's message id is remembered for the "delete these messages"
button (history.py); then:
- the button itself ("forget") queues one outbound message whose address
  tells the sender to delete the chat's messages and answer the press with
  a pop-up (the pop-up leaves nothing in the chat);
- a file over the size limit gets a message saying so, and whatever else
  the message held goes on to the conversation;
- everything else is the shared conversation's (gateway/conversation/engine.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.cases.outgoing import queue_message
from gateway.conversation import engine as conversation
from gateway.core import i18n
from gateway.core.effects import Effects
from gateway.core.models import InboundEvent, SenderPreference
from gateway.core.runtime import Gateway

from . import history
from .address import Address
from .messages import FORGOTTEN, TOO_LARGE
from .updates import CHANNEL_NAME, FORGET, PROVIDER, download_limit


def _locale(session: Session, gw: Gateway, event: InboundEvent) -> str:
    offered = i18n.configured_locales(gw.settings.locales)
    pref = session.get(SenderPreference, event.sender_pseudonym)
    for candidate in (pref.language if pref else None, event.language_hint):
        if candidate in offered:
            return candidate
    return offered[0]


def _queue(session: Session, gw: Gateway, address: Address, text: str, key: str) -> int | None:
    return queue_message(
        session,
        gw,
        channel=CHANNEL_NAME,
        provider=PROVIDER,
        address=address.encode(),
        text=text,
        dedupe_key=key,
    )


def handle(session: Session, gw: Gateway, event: InboundEvent, payload: dict[str, Any]) -> Effects:
    """The answer to one stored Telegram update."""
    extra = payload.get("extra") or {}
    address = Address.decode(str(payload.get("reply_to") or ""))
    history.remember(gw, address.chat_id, address.message_id)
    effects = Effects()
    if extra.get("action") == FORGET:
        text = i18n.gettext(_locale(session, gw, event), FORGOTTEN)
        message_id = _queue(session, gw, address.doing(FORGET), text, f"tg-forget:{event.id}")
        effects.outbound.extend([message_id] if message_id else [])
        return effects
    if extra.get("media_too_large"):
        limit = download_limit(gw.settings) // (1024 * 1024)
        text = i18n.gettext(_locale(session, gw, event), TOO_LARGE, limit=limit)
        message_id = _queue(session, gw, address, text, f"tg-too-large:{event.id}")
        effects.outbound.extend([message_id] if message_id else [])
        if not str(payload.get("text") or "").strip() and not payload.get("media"):
            return effects  # the file was all there was: nothing to start or answer
    more = conversation.handle(session, gw, event, payload)
    effects.new_cases.extend(more.new_cases)
    effects.outbound.extend(more.outbound)
    return effects
