"""Retention: what the gateway stops keeping, and when (`complaint-gateway purge`).

- Reply addresses: as soon as a case is closed (see cases.set_status), and
  for every case older than GATEWAY_RETENTION_DAYS (default 365).
- Raw inbound payloads (they hold the sender's address): once processed and
  older than GATEWAY_INBOUND_RETENTION_DAYS (default 7); the row stays, empty,
  so a late redelivery is still recognised as a duplicate.
- Messages to reporters: the text and address once sent (done in the job) and
  for any message older than the inbound retention.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update

from gateway.core.models import Case, InboundEvent, OutboundMessage
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import WorkState


def purge(gw: Gateway) -> dict[str, int]:
    now = utcnow()
    case_cutoff = now - timedelta(days=gw.settings.retention_days)
    inbound_days = int(gw.settings.get("GATEWAY_INBOUND_RETENTION_DAYS", "7") or 7)
    inbound_cutoff = now - timedelta(days=inbound_days)
    empty = gw.cipher.encrypt_json({})
    blank = gw.cipher.encrypt(b"")
    with gw.sessions() as session, session.begin():
        addresses = session.execute(
            update(Case)
            .where(
                Case.reply_address_enc.is_not(None),
                or_(Case.received_at < case_cutoff, Case.closed_at.is_not(None)),
            )
            .values(reply_address_enc=None, purged_at=now)
        ).rowcount
        inbound = session.execute(
            update(InboundEvent)
            .where(
                InboundEvent.state != WorkState.PENDING.value,
                InboundEvent.created_at < inbound_cutoff,
                InboundEvent.processed_at.is_not(None),
            )
            .values(payload_enc=empty)
        ).rowcount
        outbound = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.state != WorkState.PENDING.value,
                OutboundMessage.created_at < inbound_cutoff,
            )
            .values(body_enc=blank, address_enc=blank)
        ).rowcount
    return {
        "reply addresses": addresses,
        "inbound payloads": inbound,
        "outbound messages": outbound,
    }
