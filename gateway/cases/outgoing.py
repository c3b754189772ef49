"""Messages to a reporter, stored inside the transaction that decided them.

The conversation, a follow-up, the reporter's mailbox and a channel's own
handler each decide to answer someone; they store the message here, once
per reason (`dedupe_key`), and record its id in their `Effects`. A worker
sends it after the transaction commits (gateway.work), so storing never
enqueues and a retried event never sends the same message twice.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.core.models import OutboundMessage
from gateway.core.runtime import Gateway
from gateway.core.states import WorkState


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
            state=WorkState.PENDING.value,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboundMessage.id)
    )
    return session.execute(stmt).scalar_one_or_none()
