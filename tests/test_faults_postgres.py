"""PostgreSQL stopped mid-flow and started again: nothing lost, nothing done twice.

The gateway runs on a PostgreSQL server of the test's own (initdb and pg_ctl
in a temporary directory; tests/support/private_servers.py), with a real
`complaint-gateway worker` and the web app's real Africa's Talking webhook.
While the worker is forwarding a case (the tracker has taken it and holds
its answer), the server crashes (`pg_ctl stop -m immediate`). Messages that
arrive while it is down are spooled to disk and answered 200. The server
starts again; the worker's sweeper loads the spool and re-queues what was
unfinished, and every report reaches the tracker exactly once, with one
receipt.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.migrate import upgrade
from gateway.core.runtime import Gateway
from gateway.work import spool
from tests.conftest import make_env
from tests.support.faults import (
    Reporters,
    Supervised,
    all_delivered,
    assert_each_reported_once,
    at_settings,
)
from tests.support.private_servers import PrivatePostgres, postgres_binaries
from tests.support.worker import wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        postgres_binaries() is None,
        reason="PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed;"
        " .ci/run would have to install the postgresql package",
    ),
]

BEFORE, DURING = 5, 4  # reports sent before the crash, and while the server is down


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().init().start()
    yield server
    server.cleanup()


def test_postgres_crash_and_restart_loses_and_doubles_nothing(  # type: ignore[no-untyped-def]
    postgres, embedded_redis_url, tracker, provider_api, tmp_path: Path
) -> None:
    import redis as redis_lib

    redis_lib.Redis.from_url(embedded_redis_url).flushdb()
    upgrade(postgres.url)
    env = make_env(
        postgres.url,
        embedded_redis_url,
        tmp_path,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
        FORWARD_RETRY_DELAYS="1,1,1,1,1,1,1,1",
        **at_settings(provider_api),
    )
    tracker.hold = "after"  # the first case is taken in; its answer waits
    gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, tmp_path)))
    reporters = Reporters(create_app(gateway=gw), "pg")
    worker = Supervised(env, tmp_path)
    try:
        assert [reporters.send(n) for n in range(BEFORE)] == [200] * BEFORE
        assert spool.pending(gw) == 0
        wait_for(tracker.arrived.is_set, 60, "the first forwarding", tmp_path)
        postgres.stop("immediate")  # a crash, in the middle of the worker's job
        tracker.release.set()  # the worker hears 201 and cannot write it down
        sent = [reporters.send(n) for n in range(BEFORE, BEFORE + DURING)]
        assert sent == [200] * DURING, "the provider gets its 200 while the database is down"
        assert spool.pending(gw) == DURING, "each is on disk"
        postgres.start()
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
    assert spool.pending(gw) == 0
    assert_each_reported_once(gw, tracker, provider_api, reporters.sent)
    first = next(r for r in tracker.requests if r.answered == 201)
    assert tracker.answers_for(first.headers["idempotency-key"]) == [201, 409], (
        "the case whose answer was lost in the crash was sent again and answered 409"
    )
