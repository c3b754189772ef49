"""The gateway's shared services in one object: settings, database, Redis, keys.

Web and worker processes build one `Gateway` at start-up and install it with
`install()`; RQ jobs, which receive only ids, find it with `current()`. No
state lives in a process beyond this (connections and keys).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlparse

import redis
from redis.sentinel import Sentinel
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.core import assistance, embedded_redis
from gateway.core.config import Settings
from gateway.core.db import make_engine, make_sessionmaker
from gateway.core.privacy import Cipher, Pseudonymizer

# The gateway's RQ queues, in the order every worker takes jobs from them (RQ's BLPOP
# takes the first non-empty queue). The later a stage of a report, the earlier its
# queue: a report already taken in is finished (receipt and messages to reporters,
# forwarding, its media, the filing of a conversation gone silent) before the next
# new message is started, so in a burst the first reporter waits for the reports
# ahead of it, not for the whole burst (bench/burst.py measures it). The worker's
# intake and filing jobs make the first attempt at their messages and forwarding
# themselves (gateway.work.effects.carry_on); these queues hold what web requests
# started, retries and what the sweeper finds.
#
# Intake does not starve behind the stages ahead of it: a job there was made either
# by work already taken in, a bounded number per report (a filing per conversation, a
# receipt and a question or two per message, one forwarding per target, one download
# per file), or by a person or the tracker (a reply, a status change), at the pace
# they act. Retries wait their delay in RQ's scheduler, and the sweeper re-enqueues
# at most one batch per table per pass, of rows already stored. So a new message
# waits at most for the rest of the reports that came before it, and for what staff
# sent meanwhile. `cleanup` (deleting providers' copies: nothing waits for it, it is
# retried over days) comes last; a long burst delays it until intake is drained.
T = TypeVar("T")

QUEUE_NAMES = ("outbound", "forwarding", "media", "filing", "intake", "cleanup")


def redis_from_url(url: str, socket_timeout: float | None = None) -> redis.Redis:
    """A Redis client for `redis://`, `rediss://`, `unix://` or a Sentinel URL.

    Sentinel: `redis+sentinel://[:password@]host:port[,host:port…]/service[/db]`.
    `socket_timeout` bounds every read (default 30 s, 5 s through Sentinel): a command
    that blocks on purpose longer (the RQ worker waiting for a job) needs a client of
    its own with a longer one.
    """
    if url.startswith("redis+sentinel://"):
        parsed = urlparse(url)
        hosts = []
        for part in parsed.netloc.rsplit("@", 1)[-1].split(","):
            host, _, port = part.partition(":")
            hosts.append((host, int(port or 26379)))
        path = [p for p in parsed.path.split("/") if p]
        if not path:
            raise ValueError("a Sentinel REDIS_URL must name the service: …/service[/db]")
        password = unquote(parsed.password) if parsed.password else None
        db = int(path[1]) if len(path) > 1 else 0
        sentinel = Sentinel(hosts, socket_timeout=5, password=password)
        longer = {} if socket_timeout is None else {"socket_timeout": socket_timeout}
        return sentinel.master_for(path[0], db=db, password=password, **longer)
    return redis.Redis.from_url(url, socket_timeout=socket_timeout or 30, health_check_interval=30)


@dataclass
class Gateway:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    cipher: Cipher
    pseudonyms: Pseudonymizer
    _queues: dict[str, Queue] = field(default_factory=dict, repr=False)
    # Made from `engine` on first use, so a copy with another engine makes its own.
    _autocommit: Engine | None = field(default=None, init=False, repr=False)
    _autocommit_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    # What the layers above make once for this gateway in this process (`made_once`).
    _made: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _made_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Gateway:
        assistance.directory(settings)  # a wrong ASSISTANCE_FILE stops start-up (ConfigError)
        engine = make_engine(settings.database_url)
        redis_url = settings.redis_url or embedded_redis.url(settings.data_dir)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            redis=redis_from_url(redis_url),
            cipher=Cipher(settings.data_key),
            pseudonyms=Pseudonymizer(settings.pseudonym_key),
        )

    def made_once(self, name: str, make: Callable[[], T]) -> T:
        """What `make` returns, made on first use and kept for this gateway's life.

        For the layers above: the intake's commit group, the latency tally.
        One per gateway and process; a copy of the gateway starts with none.
        """
        found = self._made.get(name)
        if found is None:
            with self._made_lock:
                found = self._made.get(name)
                if found is None:
                    found = self._made[name] = make()
        return cast(T, found)

    def queue(self, name: str) -> Queue:
        if name not in QUEUE_NAMES:
            raise KeyError(name)
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.redis)
        return self._queues[name]

    def queues(self) -> list[Queue]:
        return [self.queue(name) for name in QUEUE_NAMES]

    def autocommit_engine(self) -> Engine | None:
        """PostgreSQL: a pool whose statements commit by themselves (intake's INSERTs)."""
        if self._autocommit is not None:  # every webhook asks: no lock once it is made
            return self._autocommit
        if self.engine.dialect.name != "postgresql":
            return None
        with self._autocommit_lock:
            if self._autocommit is None:
                self._autocommit = make_engine(
                    self.engine.url.render_as_string(hide_password=False), autocommit=True
                )
            return self._autocommit

    def close(self) -> None:
        self.engine.dispose()
        if self._autocommit is not None:
            self._autocommit.dispose()
        self.redis.close()


_lock = threading.Lock()
_current: Gateway | None = None


def install(gateway: Gateway) -> Gateway:
    global _current
    with _lock:
        _current = gateway
    return gateway


def current() -> Gateway:
    """The installed gateway; a worker process builds one from its environment."""
    global _current
    with _lock:
        if _current is None:
            _current = Gateway.from_settings(Settings.load())
        return _current


def uninstall() -> None:
    global _current
    with _lock:
        _current = None


def open_for_command(
    settings: Settings, need_redis: bool = False
) -> tuple[Gateway, embedded_redis.EmbeddedRedis | None]:
    """A command's installed `Gateway`, and the embedded Redis it started (the caller stops it).

    `need_redis` starts the embedded Redis when the settings use it: a
    command that enqueues or reads Redis needs it running meanwhile.
    """
    embedded = None
    if need_redis and settings.uses_embedded_redis:
        embedded = embedded_redis.EmbeddedRedis(settings.data_dir).start()
    try:
        return install(Gateway.from_settings(settings)), embedded
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
