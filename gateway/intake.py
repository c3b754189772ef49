"""The webhook path: store each inbound message once, enqueue its id, answer.

`submit` is all a channel adapter calls after verifying and parsing. It does
the least possible work: one INSERT per message, deduplicated by the
(provider, provider message id) unique constraint, so concurrent or repeated
deliveries of the same message make one row; then one enqueue per new row.
If Redis is down the rows are still stored and the sweeper enqueues them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from .inbound import InboundMessage
from .models import InboundEvent, utcnow
from .runtime import Gateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    event_id: int  # 0 when spooled: the row does not exist yet
    duplicate: bool
    spooled: bool = False


def submit(
    gw: Gateway, messages: list[InboundMessage], allow_spool: bool = True
) -> list[Submitted]:
    """Persist messages (deduplicated) and enqueue the new ones.

    When the database cannot be reached the messages go to the local spool
    (spool.py) and are loaded later: the provider still gets its 2xx.
    """
    try:
        results = _store(gw, messages)
    except (OperationalError, InterfaceError) as exc:
        if not allow_spool:
            raise
        log.warning("database unreachable (%s); spooling", type(exc).__name__)
        from . import spool

        spool.write(gw, messages)
        return [Submitted(0, duplicate=False, spooled=True) for _ in messages]
    _enqueue_new(gw, results)
    return results


def _store(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    results: list[Submitted] = []
    insert = postgresql.insert if gw.engine.dialect.name == "postgresql" else sqlite.insert
    with gw.sessions() as session, session.begin():
        for message in messages:
            values = {
                "channel": message.channel,
                "provider": message.provider,
                "provider_message_id": message.provider_message_id[:128],
                "sender_pseudonym": gw.pseudonyms.pseudonym(message.channel, message.sender),
                "payload_enc": gw.cipher.encrypt_json(message.payload()),
                "language_hint": message.language_hint,
                "received_at": message.received_at,
                "created_at": utcnow(),
                "state": "pending",
                "attempts": 0,
            }
            stmt = (
                insert(InboundEvent)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["provider", "provider_message_id"])
                .returning(InboundEvent.id)
            )
            new_id = session.execute(stmt).scalar_one_or_none()
            if new_id is None:
                existing = session.execute(
                    select(InboundEvent.id).where(
                        InboundEvent.provider == message.provider,
                        InboundEvent.provider_message_id == values["provider_message_id"],
                    )
                ).scalar_one()
                results.append(Submitted(existing, duplicate=True))
            else:
                results.append(Submitted(new_id, duplicate=False))
    return results


def _enqueue_new(gw: Gateway, results: list[Submitted]) -> None:
    from .jobs import enqueue_inbound

    for result in results:
        if not result.duplicate:
            try:
                enqueue_inbound(gw, result.event_id)
            except Exception:  # noqa: BLE001 - stored; the sweeper will enqueue it
                log.warning(
                    "inbound event %s stored but not enqueued; sweeper will", result.event_id
                )
    return results
