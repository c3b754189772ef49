"""What the worker does with a stored inbound message, per channel.

A handler runs inside the event's transaction and returns `Effects`: the
jobs to enqueue once that transaction has committed (forwarding of a new
case, messages to the reporter). A channel that needs its own handler
declares it (`gateway.core.providers.Channel.handlers`); the channels the
text conversation serves (SMS, WhatsApp, Telegram) otherwise share the
conversation engine.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.conversation import engine as conversation
from gateway.core.effects import Effects
from gateway.core.models import InboundEvent
from gateway.core.providers import Handler, installed
from gateway.core.runtime import Gateway


def handler_for(channel: str) -> Handler:
    """The channel's own handler, else the conversation's for the channels it serves."""
    handler = installed().handler(channel)
    if handler is not None:
        return handler
    if channel not in installed().conversation_channels():
        raise LookupError(f"no handler for channel {channel!r}")
    return conversation.handle


def handle(session: Session, gw: Gateway, event: InboundEvent) -> Effects:
    """Decrypt the event's payload and hand it to its channel's handler."""
    payload = gw.cipher.decrypt_json(event.payload_enc)
    return handler_for(event.channel)(session, gw, event, payload)
