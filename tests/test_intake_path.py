"""The webhook path's shortcuts keep its guarantees: one row, one job of ids, committed first.

Intake inserts with one prebuilt statement, announces a fresh row's id on a
plain Redis list that the workers' relay turns into jobs, and takes pooled
PostgreSQL connections without a `SELECT 1`; these tests show that a
redelivery still makes one announcement and one job, that both carry only
the row id, and that a connection the server has closed is not handed out.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from gateway.core.db import driver_cursor, make_engine
from gateway.core.inbound import InboundMessage
from gateway.core.models import InboundEvent
from gateway.intake import submit as intake
from gateway.work.inbound import NEW_EVENTS_KEY, ROWS_PER_STATEMENT
from gateway.work.intake_relay import relay_all

SENDER = "+243810000041"


def message(mid: str, text: str = "Statement for the intake path") -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender=SENDER,
        text=text,
        language_hint="en",
        received_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    )


def announced(gw) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(raw) for raw in gw.redis.lrange(NEW_EVENTS_KEY, 0, -1)]


def queued_jobs(gw):  # type: ignore[no-untyped-def]
    """The intake jobs, once the relay has made them of what was announced."""
    relay_all(gw)
    assert announced(gw) == []
    return gw.queue("intake").get_jobs()


def test_concurrent_redeliveries_make_one_row_and_one_job_of_ids(gw) -> None:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(6)
    results: list[intake.Submitted] = []

    def post() -> None:
        barrier.wait()
        results.extend(intake.submit(gw, [message("SM-race")]))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (event_id,) = {r.event_id for r in results}
    assert sum(not r.duplicate for r in results) == 1
    assert announced(gw) == [event_id]
    jobs = queued_jobs(gw)
    assert [(job.id, job.args, job.kwargs) for job in jobs] == [
        (f"inbound-{event_id}", (event_id,), {})
    ]
    assert intake.submit(gw, [message("SM-race")])[0].duplicate  # later, too
    assert len(queued_jobs(gw)) == 1


def test_a_batch_is_stored_and_enqueued_in_order_with_its_repeat_deduplicated(gw) -> None:  # type: ignore[no-untyped-def]
    first = intake.submit(gw, [message("SM-b1")])
    results = intake.submit(gw, [message("SM-b2"), message("SM-b1"), message("SM-b3")])
    assert [r.duplicate for r in results] == [False, True, False]
    assert results[1].event_id == first[0].event_id
    with gw.sessions() as session:
        stored = dict(
            session.execute(select(InboundEvent.provider_message_id, InboundEvent.id)).all()
        )
        rows = session.scalars(select(InboundEvent)).all()
    assert stored == {
        "SM-b1": first[0].event_id,
        "SM-b2": results[0].event_id,
        "SM-b3": results[2].event_id,
    }
    assert all(row.state == "pending" and row.attempts == 0 for row in rows)
    assert all(SENDER not in row.sender_pseudonym for row in rows)
    assert announced(gw) == [first[0].event_id, results[0].event_id, results[2].event_id]
    assert [job.args for job in queued_jobs(gw)] == [
        (first[0].event_id,),
        (results[0].event_id,),
        (results[2].event_id,),
    ]


def test_rows_are_committed_when_submit_returns(gw) -> None:  # type: ignore[no-untyped-def]
    """Seen from another connection at once: the provider's 2xx comes after the commit."""
    (result,) = intake.submit(gw, [message("SM-commit")])
    other = create_engine(gw.settings.database_url)
    try:
        with other.connect() as conn:
            found = conn.execute(
                select(func.count())
                .select_from(InboundEvent)
                .where(InboundEvent.id == result.event_id)
            ).scalar_one()
    finally:
        other.dispose()
    assert found == 1


def _terminate(url: str, pids: list[int]) -> None:
    admin = create_engine(url)
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                alive = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                    {"pids": pids},
                ).scalar_one()
                if not alive:
                    break
                time.sleep(0.05)
    finally:
        admin.dispose()


def test_a_pooled_connection_the_server_ended_is_replaced_at_checkout(pg_schema_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(pg_schema_url)
    try:
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _terminate(pg_schema_url, [first])  # as a restart of PostgreSQL does to every session
        with engine.connect() as conn:  # without the check at checkout this raises
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()


def test_a_webhook_after_the_database_ended_every_session_is_stored_not_spooled(gw) -> None:  # type: ignore[no-untyped-def]
    if gw.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL sessions only")
    intake.submit(gw, [message("SM-before")])
    with gw.autocommit_engine().connect() as conn:  # the pool intake writes through
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _terminate(gw.settings.database_url, [pid])
    (result,) = intake.submit(gw, [message("SM-after")])
    assert not result.spooled and not result.duplicate and result.event_id


def test_driver_errors_are_sqlalchemy_errors_and_a_broken_connection_is_dropped(
    pg_schema_url,
) -> None:  # type: ignore[no-untyped-def]
    """Intake's INSERT goes through the driver's own cursor; its errors stay what callers catch."""
    engine = make_engine(pg_schema_url, autocommit=True)
    try:
        with pytest.raises(ProgrammingError), driver_cursor(engine) as cursor:
            cursor.execute("SELEC 1")
        with driver_cursor(engine) as cursor:  # a statement error leaves the connection usable
            cursor.execute("SELECT pg_backend_pid()")
            first = cursor.fetchone()[0]
        with pytest.raises(OperationalError), driver_cursor(engine) as cursor:
            _terminate(pg_schema_url, [first])  # the server ends it while it is in use
            cursor.execute("SELECT 1")
        with driver_cursor(engine) as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            assert cursor.fetchone()[0] != first
        assert engine.pool.checkedout() == 0
    finally:
        engine.dispose()


def _stored_as_is(gw, mid: str) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    """A row's columns as the database holds them, read without SQLAlchemy's type processing."""
    with gw.engine.connect() as conn:
        return tuple(
            conn.exec_driver_sql(
                "SELECT channel, provider, sender_pseudonym, payload_enc, language_hint,"
                " received_at, created_at, state, attempts FROM inbound_events"
                f" WHERE provider_message_id = '{mid}'"
            ).one()
        )


def test_the_driver_stores_a_row_as_sqlalchemy_itself_would(gw) -> None:  # type: ignore[no-untyped-def]
    """Intake bypasses SQLAlchemy's execution; the stored values must not change shape.

    On SQLite a datetime is text, and a value stored in another format than
    SQLAlchemy's sorts and compares wrongly against every other row.
    """
    intake.submit(gw, [message("SM-driver")])
    with gw.sessions() as session:
        row = session.scalars(
            select(InboundEvent).where(InboundEvent.provider_message_id == "SM-driver")
        ).one()
        values = {c.key: getattr(row, c.key) for c in InboundEvent.__table__.c if c.key != "id"}
    values["provider_message_id"] = "SM-sqlalchemy"
    with gw.engine.begin() as conn:
        conn.execute(InboundEvent.__table__.insert(), values)
    assert _stored_as_is(gw, "SM-driver") == _stored_as_is(gw, "SM-sqlalchemy")


# A trigger that refuses one message id, and how to remove it (PostgreSQL's
# schema outlives the test: its tables are only emptied between tests).
REFUSE_ONE = {
    "sqlite": (
        [
            "CREATE TRIGGER refuse_one BEFORE INSERT ON inbound_events"
            " WHEN NEW.provider_message_id = 'SM-refused'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ],
        ["DROP TRIGGER refuse_one"],
    ),
    "postgresql": (
        [
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.provider_message_id = 'SM-refused' THEN"
            " RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_one BEFORE INSERT ON inbound_events"
            " FOR EACH ROW EXECUTE FUNCTION refuse_one()",
        ],
        ["DROP TRIGGER refuse_one ON inbound_events", "DROP FUNCTION refuse_one()"],
    ),
}


@pytest.fixture
def refused_message(gw) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The id of a message the database refuses to store."""
    create, drop = REFUSE_ONE[gw.engine.dialect.name]
    with gw.engine.begin() as conn:
        for statement in create:
            conn.exec_driver_sql(statement)
    yield "SM-refused"
    with gw.engine.begin() as conn:
        for statement in drop:
            conn.exec_driver_sql(statement)


def stored_ids(gw) -> set[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return set(session.scalars(select(InboundEvent.provider_message_id)))


@pytest.mark.parametrize("size", [2, ROWS_PER_STATEMENT + 8], ids=["one-statement", "several"])
def test_a_failed_batch_is_rolled_back_whole_and_the_next_one_is_stored(  # type: ignore[no-untyped-def]
    gw, refused_message, size
) -> None:
    """All of a request's messages are stored or none (then the request is refused or
    spooled whole), on both backends and however many statements the batch takes."""
    batch = [message(f"SM-batch-{n}") for n in range(size - 1)] + [message(refused_message)]
    with pytest.raises(DBAPIError):
        intake.submit(gw, batch)
    (result,) = intake.submit(gw, [message("SM-next")])
    assert not result.duplicate and not result.spooled
    assert stored_ids(gw) == {"SM-next"}
    assert announced(gw) == [result.event_id]


def test_a_batch_of_several_statements_keeps_its_order_and_its_repeats(gw) -> None:  # type: ignore[no-untyped-def]
    """A Telegram poll brings up to 100 updates: more rows than one statement takes."""
    (before,) = intake.submit(gw, [message("SM-many-5")])
    ids = [f"SM-many-{n}" for n in range(2 * ROWS_PER_STATEMENT + 5)]
    ids.insert(40, "SM-many-3")  # the same message twice in one batch
    results = intake.submit(gw, [message(mid) for mid in ids])
    with gw.sessions() as session:
        stored = dict(
            session.execute(select(InboundEvent.provider_message_id, InboundEvent.id)).all()
        )
    assert [r.event_id for r in results] == [stored[mid] for mid in ids]
    new = [mid for mid, r in zip(ids, results, strict=True) if not r.duplicate]
    assert new == [mid for mid in dict.fromkeys(ids) if mid != "SM-many-5"]
    assert stored["SM-many-5"] == before.event_id
    assert announced(gw) == [before.event_id] + [stored[mid] for mid in new]


def test_concurrent_requests_of_new_and_repeated_messages_store_each_message_once(gw) -> None:  # type: ignore[no-untyped-def]
    """Many threads at once, as a web process's threads under load: they share commits
    (`gateway.work.commit_group`), and each still gets its own messages' ids."""
    mids = [f"SM-load-{n}" for n in range(60)]
    plan = [[random.Random(t * 1000 + c).choice(mids) for c in range(25)] for t in range(8)]
    results: dict[str, list[intake.Submitted]] = {mid: [] for mid in mids}
    lock = threading.Lock()
    barrier = threading.Barrier(len(plan))

    def post(mine: list[str]) -> None:
        barrier.wait()
        for mid in mine:
            (result,) = intake.submit(gw, [message(mid)])
            with lock:
                results[mid].append(result)

    threads = [threading.Thread(target=post, args=(mine,)) for mine in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with gw.sessions() as session:
        stored = dict(
            session.execute(select(InboundEvent.provider_message_id, InboundEvent.id)).all()
        )
    sent = {mid for mine in plan for mid in mine}
    assert set(stored) == sent
    for mid in sent:
        assert {r.event_id for r in results[mid]} == {stored[mid]}
        assert sum(not r.duplicate for r in results[mid]) == 1
    assert sorted(announced(gw)) == sorted(stored.values())


def test_a_request_with_no_message_stores_and_announces_nothing(gw) -> None:  # type: ignore[no-untyped-def]
    """A Telegram poll may bring only updates that are not messages."""
    assert intake.submit(gw, []) == []
    assert stored_ids(gw) == set()
    assert announced(gw) == []
