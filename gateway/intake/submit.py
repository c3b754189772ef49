"""The webhook path: store each inbound message once, enqueue its id, answer.

`submit` is all a channel adapter calls after verifying and parsing. It does
the least possible work: one INSERT per message, deduplicated by the
(provider, provider message id) unique constraint, so concurrent or repeated
deliveries of the same message make one row; then one Redis round trip that
enqueues every new row. If Redis is down the rows are still stored and the
sweeper enqueues them.

The INSERT is one prebuilt Core statement (`INSERT … ON CONFLICT DO NOTHING
RETURNING id`, compiled once and cached by SQLAlchemy) rather than an ORM
statement built per request: on the webhook path, under load, building and
compiling it cost more than the database round trip itself (bench/webhook.py).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from gateway.core.inbound import InboundMessage
from gateway.core.models import InboundEvent, utcnow
from gateway.core.runtime import Gateway

log = logging.getLogger(__name__)

_TABLE = InboundEvent.__table__
_DEDUPE_KEY = ["provider", "provider_message_id"]
# Per dialect, since ON CONFLICT is each dialect's own construct.
_INSERT = {
    name: insert(_TABLE).on_conflict_do_nothing(index_elements=_DEDUPE_KEY).returning(_TABLE.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_EXISTING = select(_TABLE.c.id).where(
    _TABLE.c.provider == bindparam("provider"),
    _TABLE.c.provider_message_id == bindparam("provider_message_id"),
)


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
        from gateway.work import spool

        spool.write(gw, messages)
        return [Submitted(0, duplicate=False, spooled=True) for _ in messages]
    _enqueue_new(gw, results)
    return results


def _row(gw: Gateway, message: InboundMessage) -> dict[str, Any]:
    """The event row: the sender only as a pseudonym, the message only encrypted."""
    return {
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


def _writer(gw: Gateway) -> AbstractContextManager[Connection]:
    """The connection the INSERTs go through, each committed before `_store` returns.

    On PostgreSQL each INSERT commits by itself (autocommit): one round trip
    instead of three (BEGIN, INSERT, COMMIT), and as durable. Should a later
    message of a batch fail, the earlier ones are stored already: the batch
    goes to the spool whole and the repeats are deduplicated when it is
    loaded, and the sweeper enqueues the stored ones. On SQLite, where there
    is no round trip to save, one transaction (the engine begins it IMMEDIATE).
    """
    if gw.engine.dialect.name == "postgresql":
        return gw.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    return gw.engine.begin()


def _store(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Insert the messages; every row is committed when this returns."""
    rows = [_row(gw, message) for message in messages]  # hashing and encryption first
    insert = _INSERT[gw.engine.dialect.name]
    results: list[Submitted] = []
    with _writer(gw) as conn:
        for row in rows:
            new_id = conn.execute(insert, row).scalar_one_or_none()
            if new_id is None:
                existing = conn.execute(_EXISTING, row).scalar_one()
                results.append(Submitted(existing, duplicate=True))
            else:
                results.append(Submitted(new_id, duplicate=False))
    return results


def _enqueue_new(gw: Gateway, results: list[Submitted]) -> None:
    from gateway.work.jobs import enqueue_new_inbound

    new = [result.event_id for result in results if not result.duplicate]
    if not new:
        return
    try:
        enqueue_new_inbound(gw, new)
    except Exception:  # noqa: BLE001 - stored; the sweeper will enqueue them
        log.warning("inbound events %s stored but not enqueued; sweeper will", new)
