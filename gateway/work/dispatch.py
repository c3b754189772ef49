"""What the worker does with a stored inbound message, per channel.

A handler runs inside the event's transaction and returns `Effects`: the
jobs to enqueue once that transaction has committed (forwarding of a new
case, messages to the reporter). The text channels (SMS, WhatsApp,
Telegram) share the conversation engine (conversation.py); another channel
registers its own handler with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.cases.filing import Receipt, enqueue_forwarding
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.models import InboundEvent, OutboundMessage
from gateway.core.runtime import Gateway


@dataclass
class Effects:
    """Work to start after the handler's transaction commits."""

    new_cases: list[int] = field(default_factory=list)
    outbound: list[int] = field(default_factory=list)
    media_cases: list[int] = field(default_factory=list)  # a follow-up brought media to fetch

    def run(self, gw: Gateway) -> None:
        from gateway.work.jobs import enqueue_outbound

        for case_id in dict.fromkeys(self.new_cases + self.media_cases):
            enqueue_forwarding(gw, case_id)
        for message_id in self.outbound:
            enqueue_outbound(gw, message_id)


Handler = Callable[[Session, Gateway, InboundEvent, dict[str, object]], Effects]
_handlers: dict[str, Handler] = {}


def register(channel: str, handler: Handler) -> None:
    _handlers[channel] = handler


def handle(session: Session, gw: Gateway, event: InboundEvent) -> Effects:
    payload = gw.cipher.decrypt_json(event.payload_enc)
    handler = _handlers.get(event.channel)
    if handler is None:
        from gateway.conversation import engine as conversation

        if event.channel not in conversation.CHANNELS:
            raise LookupError(f"no handler for channel {event.channel!r}")
        handler = conversation.handle
    return handler(session, gw, event, payload)


def queue_message(
    session: Session,
    gw: Gateway,
    *,
    channel: str,
    provider: str,
    address: str,
    text: str,
    dedupe_key: str,
    case_id: int | None = None,
) -> int | None:
    """Store a message to a reporter once per `dedupe_key`; its id, or None if it existed."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboundMessage)
        .values(
            case_id=case_id,
            channel=channel,
            provider=provider,
            address_enc=gw.cipher.encrypt(address.encode()),
            body_enc=gw.cipher.encrypt(text.encode()),
            dedupe_key=dedupe_key,
            state="pending",
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboundMessage.id)
    )
    return session.execute(stmt).scalar_one_or_none()


# Translators: SMS, keep under 160 characters; %(case)s and %(pin)s are digits; the last
# sentence as in the answer to STOP. Discreet: a shared phone shows it (docs/languages.md).
RECEIPT = _(
    "Received. Case %(case)s PIN %(pin)s. Keep them secret. "
    "To check: STATUS %(case)s %(pin)s. You can delete these messages."
)


def receipt_text(locale: str, receipt: Receipt) -> str:
    """The one message with case number and PIN; it never repeats the report."""
    return i18n.gettext(locale, RECEIPT, case=receipt.case_number, pin=receipt.pin)
