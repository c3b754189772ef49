"""Delivery reports: what the provider says became of a message to a reporter.

A channel's status endpoint maps its provider's words to `DeliveryStatus`
(each adapter keeps that mapping as data) and calls `record_status`; the
channel never opens a database session itself. A final status also tells
the provider-cleanup job (cleanup.py) that the provider's copy of the
message can now be deleted.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from sqlalchemy import select

from gateway.core.models import OutboundMessage
from gateway.core.runtime import Gateway
from gateway.work import cleanup

log = logging.getLogger(__name__)


class DeliveryStatus(StrEnum):
    """Where a sent message stands, whatever the provider calls it."""

    QUEUED = "queued"  # accepted by the provider, not yet handed to the network
    SENT = "sent"  # handed to the operator's network
    DELIVERED = "delivered"  # the handset has it
    FAILED = "failed"  # refused, undeliverable or expired: final


FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED})
# Reports can arrive out of order (a "sent" after the "delivered"): never go back.
_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.FAILED: 2,
}


def record_status(
    gw: Gateway,
    provider: str,
    provider_message_id: str | None,
    status: DeliveryStatus,
    *,
    message_id: int | None = None,
    error: str | None = None,
) -> bool:
    """Record a delivery report on the outbound message it concerns.

    Args:
        gw: the gateway.
        provider: the provider that sent the message.
        provider_message_id: the provider's id for the message (Twilio's
            MessageSid, Africa's Talking's messageId), or None when the
            report names the message by the gateway's own id.
        status: the report, mapped by the channel.
        message_id: the gateway's outbound message id, for providers whose
            report URL carries it (Kannel's dlr-url); it wins over the
            provider's id because a report can arrive before the worker has
            stored the provider's id.
        error: the provider's error code for a failure (a code, never text
            that could quote the message).

    Returns:
        True if the message was found (the report is recorded or older than
        what is known), False if no message of this provider has that id.
    """
    cleanup_id: int | None = None
    with gw.sessions() as session, session.begin():
        query = select(OutboundMessage).where(OutboundMessage.provider == provider)
        if message_id is not None:
            query = query.where(OutboundMessage.id == message_id)
        elif provider_message_id:
            query = query.where(OutboundMessage.provider_message_id == provider_message_id)
        else:
            return False
        message = session.scalars(query.with_for_update()).first()
        if message is None:
            log.info("delivery report for an unknown %s message", provider)
            return False
        known = message.delivery_status
        if known in _RANK and (
            DeliveryStatus(known) in FINAL or _RANK[DeliveryStatus(known)] > _RANK[status]
        ):
            return True
        message.delivery_status = status.value
        if error and status is DeliveryStatus.FAILED:
            message.last_error = f"delivery failed: {error}"[:500]
        if status in FINAL and message.provider_message_id:
            # Complete at the provider: its copy can go now, not at the fallback time.
            cleanup_id = cleanup.schedule(session, provider, message.provider_message_id)
        outbound_id = message.id
    log.info("outbound %s delivery: %s", outbound_id, status.value)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    return True
