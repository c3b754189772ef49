"""The case tracker down for hours, or answering slower than the gateway waits.

Hours pass in these tests by moving timestamps, not by waiting: after each
failed attempt, the outbox row's `next_attempt_at` and RQ's scheduled retry
are brought to now, as if the delay had passed (what RQ's scheduler does
when the time comes), and the virtual clock is advanced by that delay. The
gateway runs with the default FORWARD_RETRY_DELAYS (about a day in all).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from rq.job import Job
from sqlalchemy import select, update

from gateway.core import runtime
from gateway.core.config import DEFAULT_FORWARD_RETRY_DELAYS, Settings
from gateway.core.inbound import InboundMessage
from gateway.core.models import ForwardingAttempt, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.forwarders.webhook import TIMEOUT
from gateway.intake import submit as intake
from gateway.work.claims import JITTER
from gateway.work.forwarding import retry_dead
from tests.support.jobs import run_jobs

LIMIT = len(DEFAULT_FORWARD_RETRY_DELAYS) + 1  # attempts before the dead-letter


@pytest.fixture
def patient_gw(env, tmp_path) -> Iterator[Gateway]:  # type: ignore[no-untyped-def]
    """The gateway with its default retry delays (the other tests retry at once)."""
    settings = {k: v for k, v in env.items() if k != "FORWARD_RETRY_DELAYS"}
    gateway = runtime.install(Gateway.from_settings(Settings.from_mapping(settings, tmp_path)))
    assert gateway.settings.forward_retry_delays == DEFAULT_FORWARD_RETRY_DELAYS
    yield gateway
    runtime.uninstall()
    gateway.close()


def report(mid: str) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender="+243810000077",
        text="The guard at the gate asked for sex for a pass",
        language_hint="en",
        received_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    )


def entry(gw: Gateway) -> OutboxEntry:
    with gw.sessions() as session:
        return session.scalars(select(OutboxEntry)).one()


def attempts(gw: Gateway) -> list[ForwardingAttempt]:
    with gw.sessions() as session:
        return list(session.scalars(select(ForwardingAttempt).order_by(ForwardingAttempt.id)))


def wait_passes(gw: Gateway) -> timedelta:
    """Let the scheduled delay of the waiting attempt pass; returns that delay."""
    row = entry(gw)
    last = attempts(gw)[-1]
    delay = row.next_attempt_at - last.attempted_at
    with gw.sessions() as session, session.begin():
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == row.id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    moved = 0
    for queue in gw.queues():
        registry = queue.scheduled_job_registry
        for job_id in registry.get_job_ids():
            if job_id == f"forward-{row.id}":
                job = Job.fetch(job_id, connection=gw.redis)
                registry.remove(job)
                queue.enqueue_job(job)
                moved += 1
    assert moved == 1, "the retry was waiting in RQ's schedule"
    return delay


def assert_backoff(delays: list[timedelta]) -> None:
    """Each delay is the configured one, within the jitter."""
    for n, delay in enumerate(delays):
        base = DEFAULT_FORWARD_RETRY_DELAYS[n]
        seconds = delay.total_seconds()
        assert base * (1 - JITTER) - 1 <= seconds <= base * (1 + JITTER) + 1, (n, seconds)


def test_tracker_down_for_six_hours_is_retried_with_backoff_then_delivered_once(
    patient_gw, tracker
) -> None:  # type: ignore[no-untyped-def]
    gw = patient_gw
    tracker.script = [503] * 50  # its proxy answers 503 while the tracker is down
    outage = timedelta(hours=6)
    intake.submit(gw, [report("SM-hours-1")])
    run_jobs(gw)
    elapsed, delays = timedelta(0), []
    while entry(gw).state == "pending":
        assert len(attempts(gw)) < LIMIT, "still pending after the last attempt"
        delays.append(wait_passes(gw))
        elapsed += delays[-1]
        if elapsed >= outage:
            tracker.script.clear()  # the tracker is back
        run_jobs(gw)
    done = entry(gw)
    assert done.state == "done", "delivered, never dead-lettered during the outage"
    assert elapsed >= outage
    assert_backoff(delays)
    outcomes = [(a.outcome, a.http_status) for a in attempts(gw)]
    assert outcomes == [("retry", 503)] * (len(outcomes) - 1) + [("delivered", 201)]
    assert len(outcomes) < LIMIT and done.attempts == len(outcomes)
    assert len(tracker.cases) == 1
    assert [r.answered for r in tracker.requests] == [503] * (len(outcomes) - 1) + [201]


def test_tracker_down_longer_than_the_retries_dead_letters_only_after_the_last(
    patient_gw, tracker
) -> None:  # type: ignore[no-untyped-def]
    gw = patient_gw
    tracker.script = [503] * 50
    intake.submit(gw, [report("SM-days-1")])
    run_jobs(gw)
    elapsed, delays = timedelta(0), []
    while entry(gw).state == "pending":
        delays.append(wait_passes(gw))
        elapsed += delays[-1]
        run_jobs(gw)
    assert entry(gw).state == "dead"
    assert len(attempts(gw)) == LIMIT, "dead-lettered after the last configured attempt"
    assert_backoff(delays)
    assert elapsed >= timedelta(seconds=sum(DEFAULT_FORWARD_RETRY_DELAYS) * (1 - JITTER))
    assert elapsed >= timedelta(hours=19), "about a day of retries, by default"
    tracker.script.clear()  # a person retries it from the console once the tracker is back
    assert len(retry_dead(gw)) == 1
    run_jobs(gw)
    assert entry(gw).state == "done" and len(tracker.cases) == 1
    assert [r.answered for r in tracker.requests] == [503] * LIMIT + [201]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_tracker_slower_than_the_timeout_gets_the_case_once(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    """It takes the case in, then answers after the gateway stopped waiting (30 s)."""
    tracker.hold = "after"

    def answer_late() -> None:
        tracker.arrived.wait(60)
        threading.Event().wait(float(TIMEOUT.read or 30) + 3)
        tracker.release.set()

    late = threading.Thread(target=answer_late, daemon=True)
    late.start()
    intake.submit(gw, [report("SM-slow-1")])
    run_jobs(gw)  # the first attempt times out; the retry is a repeat
    late.join(60)
    [key] = tracker.cases
    assert sorted(tracker.answers_for(key)) == [201, 409], "taken once; the repeat got 409"
    row = entry(gw)
    assert row.state == "done" and row.attempts == 2
    outcomes = [(a.outcome, a.http_status) for a in attempts(gw)]
    assert outcomes == [("retry", None), ("delivered", 409)]
