"""Inbound messages: stored once, enqueued, handed to their channel in the worker.

`store` does the least possible work on the webhook path: one INSERT per
message, deduplicated by the (provider, provider message id) unique
constraint, so concurrent or repeated deliveries of the same message make
one row. `store_and_enqueue` then enqueues every new row in one Redis round
trip; if Redis is down the rows are still stored and the sweeper enqueues
them. `process_inbound` is the job that hands a stored event to its channel.

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

from gateway.core.inbound import InboundMessage
from gateway.core.models import InboundEvent
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.work import claims, cleanup, dispatch
from gateway.work.effects import start

log = logging.getLogger(__name__)
MAX_INBOUND_ATTEMPTS = 10

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


# --- enqueueing ------------------------------------------------------------


def enqueue_inbound(gw: Gateway, event_id: int) -> None:
    claims.enqueue(gw, "intake", process_inbound, "inbound", event_id)


def enqueue_new_inbound(gw: Gateway, event_ids: list[int]) -> None:
    """Events just inserted: no job can be waiting for them yet."""
    claims.enqueue_new(gw, "intake", process_inbound, "inbound", event_ids)


# --- storing -----------------------------------------------------------------


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
        "state": WorkState.PENDING.value,
        "attempts": 0,
    }


def _writer(gw: Gateway) -> AbstractContextManager[Connection]:
    """The connection the INSERTs go through, each committed before `store` returns.

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


def store(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
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


def store_and_enqueue(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Persist messages (deduplicated) and enqueue the new ones; raises if the database is away."""
    results = store(gw, messages)
    new = [result.event_id for result in results if not result.duplicate]
    if new:
        try:
            enqueue_new_inbound(gw, new)
        except Exception:  # noqa: BLE001 - stored; the sweeper will enqueue them
            log.warning("inbound events %s stored but not enqueued; sweeper will", new)
    return results


# --- the job -----------------------------------------------------------------


def process_inbound(event_id: int) -> str:
    """Hand one stored inbound message to its channel's handler.

    A handler that raises leaves the event pending for the sweeper; after
    MAX_INBOUND_ATTEMPTS the event is dead-lettered (kept, visible in the
    metrics and the console) instead of being retried for ever.
    """
    gw = current()
    with gw.sessions() as session, session.begin():
        if not claims.claim(session, InboundEvent, event_id, gw.settings.job_lease_seconds):
            return "skipped"
    try:
        with gw.sessions() as session, session.begin():
            event = session.get(InboundEvent, event_id)
            assert event is not None
            effects = dispatch.handle(session, gw, event)
            event.state = WorkState.DONE.value
            event.processed_at = utcnow()
            event.locked_until = None
            event.last_error = None
            cleanup_id = cleanup.schedule(
                session, event.provider, event.provider_message_id, inbound_event_id=event.id
            )
    except Exception as exc:  # noqa: BLE001 - recorded; the exception text may hold content
        log.error("inbound event %s failed: %s", event_id, type(exc).__name__)
        with gw.sessions() as session, session.begin():
            event = session.get(InboundEvent, event_id)
            assert event is not None
            event.last_error = type(exc).__name__
            event.locked_until = None
            if event.attempts >= MAX_INBOUND_ATTEMPTS:
                event.state = WorkState.DEAD.value
        return "failed"
    start(gw, effects)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    log.info("inbound event %s processed", event_id)
    return WorkState.DONE.value
