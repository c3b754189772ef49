"""Where a benchmark runs: real PostgreSQL + Redis when they answer, and the embedded default.

PostgreSQL gets a fresh schema (dropped afterwards) and Redis a database
claimed the way tests/conftest.py claims one, so a benchmark can run while
the test suite does. The embedded default is an SQLite file and a Redis
started for the run, in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_lib
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from gateway.core.embedded_redis import EmbeddedRedis
from gateway.core.migrate import upgrade

PG_URL = os.environ.get(
    "BENCH_DATABASE_URL", os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg:///test")
)
REDIS_URL = os.environ.get(
    "BENCH_REDIS_URL", os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
)
CLAIM_PREFIX = "complaint-gateway-test:db:"  # shared with tests/conftest.py


@dataclass
class Backend:
    """Where one run's gateway keeps its data, with a scratch directory."""

    name: str
    database_url: str
    redis_url: str
    directory: Path
    keys: dict[str, str] = field(
        default_factory=lambda: {
            "GATEWAY_SECRET_KEY": uuid.uuid4().hex,
            "GATEWAY_DATA_KEY": Fernet.generate_key().decode(),
            "GATEWAY_PSEUDONYM_KEY": uuid.uuid4().hex,
        }
    )

    def env(self, **overrides: str) -> dict[str, str]:
        """The environment of a gateway process on this backend."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(self.directory)),
            "PYTHONPATH": str(Path(__file__).parents[1]),
            **self.keys,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PUBLIC_BASE_URL": "http://gateway.bench",
            **overrides,
        }


@contextmanager
def _postgres(directory: Path) -> Iterator[Backend]:
    schema = f"cg_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    claims = redis_lib.Redis.from_url(f"{REDIS_URL}/0")
    token, db = uuid.uuid4().hex, None
    try:
        for candidate in range(1, 16):
            if claims.set(f"{CLAIM_PREFIX}{candidate}", token, nx=True, ex=3600):
                db = candidate
                break
        if db is None:
            raise RuntimeError("no free Redis database (1-15 are claimed)")
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
        upgrade(url)
        redis_url = f"{REDIS_URL}/{db}"
        redis_lib.Redis.from_url(redis_url).flushdb()
        yield Backend("PostgreSQL + Redis", url, redis_url, directory)
        redis_lib.Redis.from_url(redis_url).flushdb()
    finally:
        if db is not None and claims.get(f"{CLAIM_PREFIX}{db}") == token.encode():
            claims.delete(f"{CLAIM_PREFIX}{db}")
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def _embedded(directory: Path) -> Iterator[Backend]:
    database_url = f"sqlite:///{directory / 'gateway.db'}"
    upgrade(database_url)
    server = EmbeddedRedis(directory).start()
    try:
        yield Backend("SQLite + embedded Redis", database_url, server.url, directory)
    finally:
        server.stop()


def postgres_available() -> str | None:
    """None when PostgreSQL and Redis answer, else why not."""
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL at {PG_URL} does not answer ({type(exc).__name__})"
    try:
        redis_lib.Redis.from_url(f"{REDIS_URL}/0").ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {REDIS_URL} does not answer ({type(exc).__name__})"
    return None


@contextmanager
def backend(kind: str) -> Iterator[Backend]:
    """A clean backend of `kind` ("postgres" or "embedded") in a scratch directory."""
    directory = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    try:
        with (_postgres if kind == "postgres" else _embedded)(directory) as ready:
            yield ready
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def kinds() -> list[tuple[str, str | None]]:
    """(kind, reason it is skipped or None) for every backend, real services first.

    BENCH_BACKENDS (default "postgres,embedded") narrows the run to some of them.
    """
    wanted = os.environ.get("BENCH_BACKENDS", "postgres,embedded").replace(" ", "").split(",")
    found: list[tuple[str, str | None]] = [("postgres", postgres_available()), ("embedded", None)]
    return [
        (kind, skipped if kind in wanted else "not in BENCH_BACKENDS") for kind, skipped in found
    ]
