"""Shared fixtures: real PostgreSQL and Redis, and the embedded default (SQLite + embedded Redis).

`gw` is parametrised over both backends, so every test that uses it runs on
each. PostgreSQL gets a fresh schema per test run, Redis a database per
xdist worker, flushed around each test. Outbound HTTP goes only to the
local servers these fixtures start.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from gateway.channel_packages import load_channels
from gateway.cli import main as cli_main
from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.embedded_redis import EmbeddedRedis
from gateway.core.migrate import upgrade
from gateway.core.runtime import Gateway
from gateway.core.schema import Base
from tests.channels.telegram.conftest import TOKEN
from tests.support import oneshot  # noqa: F401 - registers the one-message channel
from tests.support.hashing import use_cheap_hashes
from tests.support.providers import ProviderAPI
from tests.support.telegram_api import TelegramAPI
from tests.support.tracker import TrackerServer

use_cheap_hashes()  # in this process only; see tests/support/hashing.py

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg:///test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
REQUIRE = os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1"

KEYS = {
    "GATEWAY_SECRET_KEY": "test-secret-key-0123456789abcdef",
    "GATEWAY_DATA_KEY": Fernet.generate_key().decode(),
    "GATEWAY_PSEUDONYM_KEY": "test-pseudonym-key-0123456789",
}


def _service_missing(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({type(exc).__name__})"
    if REQUIRE:
        pytest.fail(message + " and GATEWAY_TEST_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A fresh schema in the test database, migrated once, dropped at the end."""
    schema = f"cg_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001
        _service_missing("PostgreSQL", exc)
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def real_redis_url() -> Iterator[str]:
    """A Redis database (1-15) claimed for this test process alone.

    Test runs in parallel (xdist workers, two checkouts) each flush their own
    database; the claims are keys in database 0 that expire if a run dies.
    """
    try:
        claims = redis_lib.Redis.from_url(f"{REDIS_URL}/0")
        claims.ping()
    except Exception as exc:  # noqa: BLE001
        _service_missing("Redis", exc)
    token = uuid.uuid4().hex
    for db in range(1, 16):
        key = f"complaint-gateway-test:db:{db}"
        if claims.set(key, token, nx=True, ex=3 * 3600):
            yield f"{REDIS_URL}/{db}"
            if claims.get(key) == token.encode():
                claims.delete(key)
            return
    pytest.fail("no free Redis database for tests (15 claimed); wait or flush db 0 claims")


@pytest.fixture(scope="session")
def embedded_redis_url() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="cg-redis-"))
    server = EmbeddedRedis(directory).start()
    yield server.url
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template() -> Iterator[Path]:
    """A migrated SQLite file, copied for each test (migrating each time is slow)."""
    directory = Path(tempfile.mkdtemp(prefix="cg-sqlite-"))
    path = directory / "template.db"
    upgrade(f"sqlite:///{path}")
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def _truncate(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def tracker() -> Iterator[TrackerServer]:
    server = TrackerServer(secret="tracker-secret").start()
    yield server
    server.stop()


@pytest.fixture
def provider_api() -> Iterator[ProviderAPI]:
    """A local server playing the SMS and voice providers' REST APIs."""
    server = ProviderAPI().start()
    yield server
    server.stop()


@pytest.fixture
def telegram_api() -> Iterator[TelegramAPI]:
    server = TelegramAPI(TOKEN).start()
    yield server
    server.stop()


def make_env(database_url: str, redis_url: str, data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        **KEYS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "FORWARD_RETRY_DELAYS": "0,0,0",
        "PUBLIC_BASE_URL": "http://gateway.test",
        "GATEWAY_JOB_LEASE_SECONDS": "30",
        "FORWARDERS": "webhook",
    }
    env.update(overrides)
    return env


@pytest.fixture(params=["postgres", "embedded"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database URL, Redis URL) of one backend, clean for this test."""
    if request.param == "postgres":
        db_url = request.getfixturevalue("pg_schema_url")
        redis_url = request.getfixturevalue("real_redis_url")
        _truncate(db_url)
    else:
        path = tmp_path / "gateway.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db_url = f"sqlite:///{path}"
        redis_url = request.getfixturevalue("embedded_redis_url")
    redis_lib.Redis.from_url(redis_url).flushdb()
    yield db_url, redis_url
    redis_lib.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def env(backend: tuple[str, str], tracker: TrackerServer, tmp_path: Path) -> dict[str, str]:
    """The environment a gateway process would get, pointing at this test's services."""
    db_url, redis_url = backend
    return make_env(
        db_url,
        redis_url,
        tmp_path,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
    )


@pytest.fixture
def gw(env: dict[str, str], tmp_path: Path) -> Iterator[Gateway]:
    load_channels()  # the providers' descriptors (installing again changes nothing)
    gateway = runtime.install(Gateway.from_settings(Settings.from_mapping(env, tmp_path)))
    yield gateway
    runtime.uninstall()
    gateway.close()


@pytest.fixture
def app(gw: Gateway):  # type: ignore[no-untyped-def]
    from gateway.app import create_app

    application = create_app(gateway=gw)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def cli(env, monkeypatch, capsys, gw):  # type: ignore[no-untyped-def]
    """cli(*args) -> (exit code, stdout, stderr) of the command line on the test's gateway,
    run in-process as an operator runs it (the test's environment, its data dir)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = cli_main([*args, "--data-dir", str(gw.settings.data_dir)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
