"""A channel whose every message is a whole report: the core pipeline's tests use it.

It exercises intake, case filing, forwarding and the receipt without the
conversation engine's questions (tested on their own in tests/test_conversation.py).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.cases.filing import file_report
from gateway.cases.outgoing import queue_message
from gateway.cases.reports import NewReport
from gateway.conversation.texts import receipt_text
from gateway.core import i18n
from gateway.core.effects import Effects
from gateway.core.models import InboundEvent
from gateway.core.providers import Channel, installed
from gateway.core.runtime import Gateway

CHANNEL = "oneshot"
CASE_CHANNEL = "sms"  # the cases it files are SMS cases for the case tracker


def file_each_message(
    session: Session, gw: Gateway, event: InboundEvent, payload: dict[str, object]
) -> Effects:
    """File the message's text as a report and send the receipt back."""
    effects = Effects()
    if event.case_id is not None:
        return effects
    locale = event.language_hint or i18n.DEFAULT_LOCALE
    report = NewReport(narrative=str(payload.get("text") or ""), language=locale)
    receipt = file_report(
        session,
        gw,
        report,
        channel=CASE_CHANNEL,
        provider=event.provider,
        received_at=event.received_at,
        sender_pseudonym=event.sender_pseudonym,
    )
    event.case_id = receipt.case_id
    effects.new_cases.append(receipt.case_id)
    message_id = queue_message(
        session,
        gw,
        channel=event.channel,
        provider=event.provider,
        address=str(payload["sender"]),
        text=receipt_text(locale, receipt),
        dedupe_key=f"receipt:{receipt.case_id}",
        case_id=receipt.case_id,
    )
    if message_id is not None:
        effects.outbound.append(message_id)
    return effects


installed().add(Channel(name=CHANNEL, handlers={CHANNEL: file_each_message}))
