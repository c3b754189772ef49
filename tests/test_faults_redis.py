"""Redis flushed, or killed and started empty, while a real worker carries reports through.

The database is the system of record: whatever Redis loses (queued jobs,
forwarding retries scheduled for later, the sweeper's lock, the workers'
registrations), the sweeper in the running worker finds the unfinished rows
and queues them again. Messages that arrive while Redis is down are stored
and acknowledged; their jobs are queued by the sweeper once Redis is back.
Every report still reaches the case tracker exactly once, with one receipt.

When Redis goes away while the worker is finishing a job, RQ's worker exits;
the test then starts it again, as the systemd unit of docs/deployment.md
(Restart=always) does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.runtime import Gateway
from tests.conftest import make_env
from tests.support.faults import (
    Reporters,
    Supervised,
    all_delivered,
    assert_each_reported_once,
    at_settings,
)
from tests.support.private_servers import PrivateRedis
from tests.support.worker import wait_for

pytestmark = pytest.mark.slow

BEFORE, DURING = 6, 4  # reports sent before the fault, and while Redis is away


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    server = PrivateRedis().start()
    yield server
    server.cleanup()


@pytest.mark.parametrize("fault", ["flushed", "restarted"])
def test_redis_lost_mid_flow_every_report_delivered_once(  # type: ignore[no-untyped-def]
    backend, tracker, redis_server, provider_api, tmp_path: Path, fault: str
) -> None:
    db_url, _shared_redis = backend
    env = make_env(
        db_url,
        redis_server.url,
        tmp_path,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
        # Retries a few seconds apart: some are waiting in RQ's schedule when Redis goes.
        FORWARD_RETRY_DELAYS="2,2,2,2,2,2",
        **at_settings(provider_api),
    )
    tracker.script = [503, 503, 503]
    gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, tmp_path)))
    reporters = Reporters(create_app(gateway=gw), fault)
    worker = Supervised(env, tmp_path)
    try:
        assert [reporters.send(n) for n in range(BEFORE)] == [200] * BEFORE
        wait_for(lambda: len(tracker.requests) >= 4, 60, "forwarding under way", tmp_path)
        if fault == "flushed":
            gw.redis.flushall()
        else:
            redis_server.kill()
        # While Redis is empty or away, more reports come in: stored and acknowledged.
        sent = [reporters.send(n) for n in range(BEFORE, BEFORE + DURING)]
        assert sent == [200] * DURING
        if fault == "restarted":
            redis_server.start()
        total = BEFORE + DURING
        everything = worker.until(
            lambda: (
                len(tracker.cases) == total
                and all_delivered(gw, total)
                and len(provider_api.sent()) >= 2 * total
            )  # a question and a receipt each
        )
        wait_for(everything, 120, "every report delivered and answered", tmp_path)
    finally:
        worker.stop()
        runtime.uninstall()
        gw.close()
    assert_each_reported_once(gw, tracker, provider_api, reporters.sent)


def test_scheduled_filing_runs_after_redis_restarted_under_an_idle_worker(  # type: ignore[no-untyped-def]
    sqlite_template, tracker, redis_server, provider_api, tmp_path: Path
) -> None:
    """A silent conversation's filing, scheduled after Redis came back, still runs.

    RQ's forked scheduler died with the connection and was started again only
    at a maintenance pass, which a worker waiting for its next job does not
    reach: the filing waited for another report to arrive. The scheduler now
    runs in a thread of the worker that tries again every second.
    """
    db_path = tmp_path / "gateway.db"
    shutil.copy(sqlite_template, db_path)
    env = make_env(
        f"sqlite:///{db_path}",
        redis_server.url,
        tmp_path,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
        **at_settings(provider_api),
    )
    gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, tmp_path)))
    reporters = Reporters(create_app(gateway=gw), "idle")
    worker = Supervised(env, tmp_path)
    try:
        assert reporters.send(0) == 200
        wait_for(worker.until(lambda: len(tracker.cases) == 1), 60, "first case", tmp_path)
        redis_server.kill()  # the worker is idle, waiting for its next job
        redis_server.start()
        assert reporters.send(1) == 200
        wait_for(
            worker.until(lambda: len(tracker.cases) == 2 and all_delivered(gw, 2)),
            60,
            "the report sent after the restart filed and forwarded",
            tmp_path,
        )
    finally:
        worker.stop()
        runtime.uninstall()
        gw.close()
    assert_each_reported_once(gw, tracker, provider_api, reporters.sent)
