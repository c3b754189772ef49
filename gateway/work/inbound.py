"""Inbound messages: stored once, announced, handed to their channel in the worker.

`store` does the least possible work on the webhook path: one INSERT per
message, deduplicated by the (provider, provider message id) unique
constraint, so concurrent or repeated deliveries of the same message make
one row. `store_and_announce` then pushes the ids of the new rows onto one
plain Redis list (`NEW_EVENTS_KEY`) in one round trip, which the caller may
share (the webhook's latency metric rides on it). Building an RQ job per
request cost more than everything else on that path but the INSERT; the
worker's relay (`gateway.work.intake_relay`) turns the ids into jobs
instead, in batches. If Redis is down, or a relay dies holding ids, the rows
are still stored and pending, and the sweeper enqueues them.
`process_inbound` is the job that hands a stored event to its channel.

The INSERT is one Core statement (`INSERT … ON CONFLICT DO NOTHING
RETURNING id`) compiled once by SQLAlchemy, with the columns' own bind
processors, and run on the driver's cursor on both backends: on the webhook
path, under load, building an ORM statement and SQLAlchemy's execution layer
cost more than the database's own work (bench/README.md, webhook).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.client import Pipeline
from sqlalchemy import Dialect, Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.core.db import driver_cursor, sqlite_writer
from gateway.core.inbound import InboundMessage
from gateway.core.models import InboundEvent
from gateway.core.runtime import Gateway, current
from gateway.core.schema import as_utc, utcnow
from gateway.core.states import WorkState
from gateway.work import claims, cleanup, dispatch
from gateway.work.effects import carry_on

log = logging.getLogger(__name__)
MAX_INBOUND_ATTEMPTS = 10
# Ids of inbound events stored by the web tier and not yet made jobs (oldest first).
NEW_EVENTS_KEY = "complaint-gateway:inbound:new"

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
        "received_at": as_utc(message.received_at),
        "created_at": utcnow(),
        "state": WorkState.PENDING.value,
        "attempts": 0,
    }


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once by SQLAlchemy, to run on the driver's own cursor.

    `order` is the parameters' order for a driver that takes them by
    position (sqlite3), None for one that takes them by name (psycopg);
    `processors` are the columns' own bind processors (UTCDateTime's, and
    SQLite's date format), so a value is stored as SQLAlchemy would store it.
    """

    sql: str
    order: tuple[str, ...] | None
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]

    @classmethod
    def compile(cls, statement: Any, dialect: Dialect, columns: list[str]) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        processors = []
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors.append((name, processor))
        order = tuple(compiled.positiontup) if compiled.positional else None
        return cls(compiled.string, order, tuple(processors))

    def parameters(self, row: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        if self.processors:
            row = dict(row)
            for name, processor in self.processors:
                row[name] = processor(row[name])
        if self.order is None:
            return row
        return tuple(row[name] for name in self.order)


_DriverStatements = tuple[_DriverStatement, _DriverStatement]  # the INSERT, the look-up
_DRIVER_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], _DriverStatements] = {}


def _driver_statements(dialect: Dialect, columns: tuple[str, ...]) -> _DriverStatements:
    """The INSERT of `columns` and the look-up of a repeat as the driver takes them, made once."""
    key = (dialect.name, dialect.driver, columns)
    made = _DRIVER_STATEMENTS.get(key)
    if made is None:
        made = (
            _DriverStatement.compile(_INSERT[dialect.name], dialect, list(columns)),
            _DriverStatement.compile(_EXISTING, dialect, list(_DEDUPE_KEY)),
        )
        _DRIVER_STATEMENTS[key] = made
    return made


def _insert_rows(cursor: Any, dialect: Dialect, rows: list[dict[str, Any]]) -> list[Submitted]:
    """Each row inserted unless its message is stored already; a repeat gets the stored id."""
    results: list[Submitted] = []
    for row in rows:
        insert, existing = _driver_statements(dialect, tuple(row))
        cursor.execute(insert.sql, insert.parameters(row))
        found = cursor.fetchone()
        if found is None:
            cursor.execute(existing.sql, existing.parameters(row))
            results.append(Submitted(cursor.fetchone()[0], duplicate=True))
        else:
            results.append(Submitted(found[0], duplicate=False))
    return results


def _store_autocommit(engine: Engine, rows: list[dict[str, Any]]) -> list[Submitted]:
    """PostgreSQL: each INSERT commits by itself, one round trip, through the driver.

    One round trip instead of three (BEGIN, INSERT, COMMIT), and as durable.
    Should a later message of a batch fail, the earlier ones are stored
    already: the batch goes to the spool whole, the repeats are deduplicated
    when it is loaded, and the sweeper enqueues the stored ones.
    """
    with driver_cursor(engine) as cursor:
        return _insert_rows(cursor, engine.dialect, rows)


def _store_in_transaction(engine: Engine, rows: list[dict[str, Any]]) -> list[Submitted]:
    """SQLite: one IMMEDIATE transaction on the driver's connection, writers queued.

    The driver's own cursor, as on PostgreSQL: SQLAlchemy's execution layer
    (a connection, its transaction, the BEGIN event, the statement's
    execution context) cost more than SQLite's own work (bench/README.md).
    The pool's connections are in the driver's autocommit mode (`make_engine`),
    so the transaction is begun and ended here.
    """
    with sqlite_writer(engine), driver_cursor(engine) as cursor:
        cursor.execute("BEGIN IMMEDIATE")
        try:
            results = _insert_rows(cursor, engine.dialect, rows)
        except BaseException:
            cursor.connection.rollback()
            raise
        cursor.execute("COMMIT")
    return results


def store(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Insert the messages; every row is committed when this returns."""
    rows = [_row(gw, message) for message in messages]  # hashing and encryption first
    autocommit = gw.autocommit_engine()
    if autocommit is not None:
        return _store_autocommit(autocommit, rows)
    return _store_in_transaction(gw.engine, rows)


def store_and_announce(
    gw: Gateway,
    messages: list[InboundMessage],
    also: Callable[[Pipeline], None] | None = None,
) -> list[Submitted]:
    """Persist messages (deduplicated) and announce the new ones; raises if the database is away.

    `also` adds its own commands to the announcing round trip (it runs even when
    every message was a repeat). A Redis failure is logged, never raised: the
    rows are committed, and the sweeper enqueues them.
    """
    results = store(gw, messages)
    new = [result.event_id for result in results if not result.duplicate]
    if new or also is not None:
        try:
            pipe = gw.redis.pipeline(transaction=False)
            if new:
                pipe.rpush(NEW_EVENTS_KEY, *new)
            if also is not None:
                also(pipe)
            pipe.execute()
        except Exception:  # noqa: BLE001 - stored; the sweeper will enqueue them
            log.warning("inbound events %s stored but not announced; sweeper will", new)
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
    carry_on(gw, effects)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    log.info("inbound event %s processed", event_id)
    return WorkState.DONE.value
