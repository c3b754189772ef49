"""Inbound messages: stored once, announced, handed to their channel in the worker.

`store_and_announce` does the least possible work on the webhook path: one
INSERT, deduplicated by the (provider, provider message id) unique
constraint, so concurrent or repeated deliveries of the same message make
one row. The threads of a web process that store at the same moment share
that INSERT and its commit (`gateway.work.commit_group`), then the ids of
the new rows are pushed onto one plain Redis list (`NEW_EVENTS_KEY`) in
one command. Building an RQ job per request cost more than everything else
on that path but the INSERT; the worker's relay
(`gateway.work.intake_relay`) turns the ids into jobs instead, in batches.
If Redis is down, or a relay dies holding ids, the rows are still stored
and pending, and the sweeper enqueues them. `process_inbound` is the job
that hands a stored event to its channel.

The INSERT is one Core statement (`INSERT … VALUES (…), (…) ON CONFLICT DO
NOTHING RETURNING id, key`) compiled once per row count by SQLAlchemy, with
the columns' own bind processors, and run on the driver's cursor on both
backends: on the webhook path, under load, building an ORM statement and
SQLAlchemy's execution layer cost more than the database's own work
(bench/README.md, webhook).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Engine, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.core.db import driver_cursor, sqlite_writer
from gateway.core.inbound import InboundMessage
from gateway.core.models import InboundEvent
from gateway.core.runtime import Gateway, current
from gateway.core.schema import as_utc, utcnow
from gateway.core.states import WorkState
from gateway.work import claims, cleanup, dispatch
from gateway.work.commit_group import CommitGroup
from gateway.work.effects import carry_on

log = logging.getLogger(__name__)
MAX_INBOUND_ATTEMPTS = 10
# Ids of inbound events stored by the web tier and not yet made jobs (oldest first).
NEW_EVENTS_KEY = "complaint-gateway:inbound:new"

_TABLE = InboundEvent.__table__
_DEDUPE_KEY = ("provider", "provider_message_id")
# Per dialect, since ON CONFLICT is each dialect's own construct.
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
# Rows a statement inserts at most; a larger batch (a Telegram poll) takes several.
ROWS_PER_STATEMENT = 32
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
    def compile(
        cls, statement: Any, dialect: Dialect, column_keys: list[str] | None = None
    ) -> _DriverStatement:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
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


_DRIVER_INSERTS: dict[tuple[str, str, tuple[str, ...], int], _DriverStatement] = {}
_DRIVER_LOOKUPS: dict[tuple[str, str], _DriverStatement] = {}


def _driver_insert(dialect: Dialect, columns: tuple[str, ...], count: int) -> _DriverStatement:
    """The INSERT of `count` rows of `columns` as the driver takes it, made once.

    The parameters are named `<column>_<row>`; each row is skipped if its
    message is stored already, and the stored rows come back by their key.
    """
    key = (dialect.name, dialect.driver, columns, count)
    made = _DRIVER_INSERTS.get(key)
    if made is None:
        values = [
            {column: bindparam(f"{column}_{n}", type_=_TABLE.c[column].type) for column in columns}
            for n in range(count)
        ]
        statement = (
            _INSERT[dialect.name](_TABLE)
            .values(values)
            .on_conflict_do_nothing(index_elements=list(_DEDUPE_KEY))
            .returning(_TABLE.c.id, *(_TABLE.c[column] for column in _DEDUPE_KEY))
        )
        made = _DRIVER_INSERTS[key] = _DriverStatement.compile(statement, dialect)
    return made


def _driver_lookup(dialect: Dialect) -> _DriverStatement:
    """The look-up of a stored message's id by its key, made once."""
    key = (dialect.name, dialect.driver)
    made = _DRIVER_LOOKUPS.get(key)
    if made is None:
        made = _DRIVER_LOOKUPS[key] = _DriverStatement.compile(
            _EXISTING, dialect, list(_DEDUPE_KEY)
        )
    return made


def _dedupe_key(row: dict[str, Any]) -> tuple[str, str]:
    return (row["provider"], row["provider_message_id"])


def _insert_rows(cursor: Any, dialect: Dialect, rows: list[dict[str, Any]]) -> list[Submitted]:
    """The rows inserted, by as few statements as can be, unless their message is stored already.

    A message that comes twice in `rows` is new once and a repeat after. The
    rows are inserted in the order given, so ids keep the order of arrival.
    Two requests redelivering the same messages in opposite orders at the
    same moment could deadlock; PostgreSQL then refuses one of them, which
    is retried alone (`CommitGroup`) or spooled, as for any other refusal.
    """
    stored: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        insert = _driver_insert(dialect, tuple(chunk[0]), len(chunk))
        parameters = {
            f"{column}_{n}": value for n, row in enumerate(chunk) for column, value in row.items()
        }
        cursor.execute(insert.sql, insert.parameters(parameters))
        for event_id, provider, message_id in cursor.fetchall():
            stored[(provider, message_id)] = event_id
    results: list[Submitted] = []
    known: dict[tuple[str, str], int] = {}
    for row in rows:
        key = _dedupe_key(row)
        if key in stored:
            known[key] = stored.pop(key)
            results.append(Submitted(known[key], duplicate=False))
            continue
        if key not in known:
            lookup = _driver_lookup(dialect)
            cursor.execute(lookup.sql, lookup.parameters(row))
            known[key] = cursor.fetchone()[0]
        results.append(Submitted(known[key], duplicate=True))
    return results


def _store_autocommit(engine: Engine, rows: list[dict[str, Any]]) -> list[Submitted]:
    """PostgreSQL: the INSERT commits by itself, one round trip, through the driver.

    One round trip instead of three (BEGIN, INSERT, COMMIT), and as durable.
    Rows too many for one statement take a transaction of their own, so
    that they are all stored or none.
    """
    with driver_cursor(engine) as cursor:
        if len(rows) <= ROWS_PER_STATEMENT:
            return _insert_rows(cursor, engine.dialect, rows)
        return _in_transaction(cursor, "BEGIN", engine.dialect, rows)


def _store_in_transaction(engine: Engine, rows: list[dict[str, Any]]) -> list[Submitted]:
    """SQLite: one IMMEDIATE transaction on the driver's connection, writers queued.

    The driver's own cursor, as on PostgreSQL: SQLAlchemy's execution layer
    (a connection, its transaction, the BEGIN event, the statement's
    execution context) cost more than SQLite's own work (bench/README.md).
    The pool's connections are in the driver's autocommit mode (`make_engine`),
    so the transaction is begun and ended here.
    """
    with sqlite_writer(engine), driver_cursor(engine) as cursor:
        return _in_transaction(cursor, "BEGIN IMMEDIATE", engine.dialect, rows)


def _in_transaction(
    cursor: Any, begin: str, dialect: Dialect, rows: list[dict[str, Any]]
) -> list[Submitted]:
    cursor.execute(begin)
    try:
        results = _insert_rows(cursor, dialect, rows)
    except BaseException:
        cursor.connection.rollback()
        raise
    cursor.execute("COMMIT")
    return results


def _store_rows(gw: Gateway) -> Callable[[list[dict[str, Any]]], list[Submitted]]:
    """How rows are committed on this gateway's database."""
    autocommit = gw.autocommit_engine()
    if autocommit is not None:
        return functools.partial(_store_autocommit, autocommit)
    return functools.partial(_store_in_transaction, gw.engine)


def _announce(gw: Gateway, results: list[Submitted]) -> None:
    """Push the ids of the new rows for the workers' relay; never raises (the sweeper will)."""
    new = [result.event_id for result in results if not result.duplicate]
    if new:
        try:
            gw.redis.rpush(NEW_EVENTS_KEY, *new)
        except Exception:  # noqa: BLE001 - stored; the sweeper will enqueue them
            log.warning("inbound events %s stored but not announced; sweeper will", new)


_INTAKE_GROUP = "intake-commit-group"


def _intake_group(gw: Gateway) -> CommitGroup[dict[str, Any], Submitted]:
    """The group through which this process's threads store and announce on `gw`."""
    return gw.made_once(
        _INTAKE_GROUP, lambda: CommitGroup(_store_rows(gw), functools.partial(_announce, gw))
    )


def store(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Insert the messages, without announcing them; every row is committed when this returns."""
    return _store_rows(gw)([_row(gw, message) for message in messages])


def store_and_announce(gw: Gateway, messages: list[InboundMessage]) -> list[Submitted]:
    """Persist messages (deduplicated) and announce the new ones; raises if the database is away.

    The threads of this process storing at the same moment share one
    statement and one commit, and one announcement after it
    (`gateway.work.commit_group`). A Redis failure is logged, never raised:
    the rows are committed, and the sweeper enqueues them.
    """
    if not messages:
        return []
    rows = [_row(gw, message) for message in messages]  # hashing and encryption first
    return _intake_group(gw).submit(rows)


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
