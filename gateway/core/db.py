"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import fcntl
import os
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, pool_size: int = 5, autocommit: bool = False) -> Engine:
    """An engine tuned for the backend: WAL and a busy timeout on SQLite.

    `autocommit` (PostgreSQL only) makes every statement commit by itself on
    every connection of the pool, rather than switching a connection into
    and out of autocommit at each use: the webhook path's INSERT
    (gateway/work/inbound.py).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            # Let SQLAlchemy issue BEGIN so transactions behave as on PostgreSQL.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # 1 MiB of page cache a connection rather than SQLite's 2: five pooled
            # connections kept 10 MiB of the worker's (bench/README.md, memory).
            cur.execute("PRAGMA cache_size=-1024")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front: no deadlock between two
            # writers that both started by reading (SQLite's classic upgrade failure).
            # The audit chain relies on it too: an append reads the newest entry
            # under this lock (gateway/cases/audit.py).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    options: dict[str, Any] = {}
    if autocommit:
        # No statement leaves a transaction open, so a connection coming back to
        # the pool has nothing to roll back: the pool's reset at every check-in
        # would only cost the webhook its time (a ROLLBACK call per request).
        options = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
    engine = create_engine(url, pool_size=pool_size, max_overflow=10, **options)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_conn, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
    """Check a pooled connection at checkout without a round trip.

    An idle connection has nothing to read. When PostgreSQL restarts or ends
    a session, it sends a last message and closes the socket, which then
    reads as ready: the pool drops that connection and opens another. The
    usual check (`pool_pre_ping`, a `SELECT 1` at every checkout) cost a
    fifth of a webhook's time (bench/webhook.py). A server gone without
    closing the socket (a cut network) is found by the next query instead,
    whose error the caller handles (intake spools, a job is retried).
    """
    poller = select.poll()
    poller.register(dbapi_conn.fileno(), select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the database closed this connection")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def driver_cursor(engine: Engine) -> Iterator[Any]:
    """A cursor of the database driver itself, on a connection of the engine's pool.

    For the one statement whose cost matters most, the webhook's INSERT:
    SQLAlchemy's execution layer cost as much again as the driver's
    execution (bench/webhook.py). The pool, its check at checkout and its
    error handling stay: a driver error is raised as SQLAlchemy's own
    (`OperationalError` when the server is away, as callers expect), and a
    connection it shows broken is dropped rather than handed out again.
    """
    dbapi = engine.dialect.loaded_dbapi
    try:
        connection = engine.raw_connection()
    except dbapi.Error as exc:  # the pool passes a failed connect on as the driver raised it
        raise DBAPIError.instance(None, None, exc, dbapi.Error, dialect=engine.dialect) from exc
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
    except dbapi.Error as exc:
        broken = engine.dialect.is_disconnect(exc, connection.dbapi_connection, None)
        if broken:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            None, None, exc, dbapi.Error, connection_invalidated=broken, dialect=engine.dialect
        ) from exc
    finally:
        connection.close()


class _WriterQueue:
    """One SQLite database's writers in one process: a thread lock, then a file lock.

    Each process makes its own (a forked child starts with none): a lock
    inherited through fork may be held by a thread the child does not have,
    and a descriptor inherited would share its `flock` with the parent's,
    which then excludes nobody.
    """

    def __init__(self, lock_path: str) -> None:
        self.threads = threading.Lock()
        self.fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


# Beside the SQLite database: the file whose lock the writers queue on (empty; not backed up).
WRITER_LOCK_SUFFIX = ".writers"
_WRITER_QUEUES: dict[str, _WriterQueue] = {}
_WRITER_QUEUES_LOCK = threading.Lock()


def _forget_writer_queues_in_child() -> None:
    global _WRITER_QUEUES_LOCK
    for queue in _WRITER_QUEUES.values():
        os.close(queue.fd)  # the parent's: closing it here leaves the parent's lock alone
    _WRITER_QUEUES.clear()
    _WRITER_QUEUES_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_writer_queues_in_child)


@contextmanager
def sqlite_writer(engine: Engine) -> Iterator[None]:
    """Wait for an SQLite database's one write lock in a queue rather than in SQLite's polling.

    A writer that finds SQLite locked sleeps and tries again, longer each
    time (1, 2, 5 … 100 ms), so under load one unlucky request waits 100 ms
    after the lock was free (bench/README.md, webhook: the p99 on SQLite).
    Here the threads of a process queue on a lock, and the processes on an
    advisory lock (`flock`) on a file beside the database; each is woken
    the moment the one before has let go. Writers that do not come through
    here (the workers' transactions) still meet SQLite's own polling.
    """
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    queue = _WRITER_QUEUES.get(database)
    if queue is None:
        with _WRITER_QUEUES_LOCK:
            queue = _WRITER_QUEUES.get(database)
            if queue is None:
                queue = _WRITER_QUEUES[database] = _WriterQueue(database + WRITER_LOCK_SUFFIX)
    with queue.threads:
        fcntl.flock(queue.fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(queue.fd, fcntl.LOCK_UN)
