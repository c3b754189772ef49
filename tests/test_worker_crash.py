"""A worker killed with SIGKILL mid-job: after a restart, every case exists once, everywhere.

These run real `complaint-gateway worker` processes on both backends, with
a 3-second lease and a sweep every second, and kill them at the worst
moments: while the case tracker holds the forwarding request (before it
took the case in, or after it did but before it answered), and in the
middle of filing a case from an inbound message (written, not committed).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from gateway.cases.numbering import parse_case_number
from gateway.cases.reports import NewReport
from gateway.core.inbound import InboundMessage
from gateway.core.models import Case, ForwardingAttempt, InboundEvent, OutboundMessage, OutboxEntry
from gateway.intake import submit as intake
from gateway.work.reporter import submit_report
from tests.support.worker import kill, log_tail, start_worker, wait_for

pytestmark = pytest.mark.slow


def _count(gw, model) -> int:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _outbox_state(gw) -> str | None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalar(select(OutboxEntry.state))


@pytest.mark.parametrize(
    "hold",
    [
        pytest.param("before", id="tracker-had-not-taken-it"),
        pytest.param("after", id="tracker-took-it-answer-lost"),
    ],
)
def test_worker_killed_while_forwarding_delivers_the_case_once(
    gw, env, tracker, tmp_path, hold
) -> None:  # type: ignore[no-untyped-def]
    tracker.hold = hold
    receipt = submit_report(
        gw, NewReport(narrative="The driver of the convoy", language="en"), channel="web"
    )
    key = receipt.case_number
    first = start_worker(env, tmp_path)
    second = None
    try:
        assert tracker.arrived.wait(20), "the worker never forwarded\n" + log_tail(tmp_path)
        kill(first)  # the tracker holds the request: the worker never hears back
        assert first.returncode is not None and _outbox_state(gw) == "pending"
        second = start_worker(env, tmp_path)
        wait_for(lambda: _outbox_state(gw) == "done", 20, "the outbox row to be done", tmp_path)
    finally:
        tracker.release.set()
        kill(first)
        kill(second)
    # The held request, answered late, may still reach the tracker: it is a repeat.
    wait_for(lambda: len(tracker.answers_for(key)) == 2, 10, "both requests answered", tmp_path)
    assert sorted(tracker.answers_for(key)) == [201, 409]
    assert list(tracker.cases) == [key], "exactly one case in the tracker"
    with gw.sessions() as session:
        entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "done" and entry.delivered_at is not None
        assert entry.attempts == 2, "the killed attempt counts"
        logged = session.scalars(select(ForwardingAttempt).order_by(ForwardingAttempt.id)).all()
        # The tracker answered the second attempt 201 when it had not taken the first in.
        expected_status = 201 if hold == "before" else 409
        assert [(a.outcome, a.http_status) for a in logged] == [
            ("interrupted", None),
            ("delivered", expected_status),
        ], "the killed attempt is in the log too"
        assert logged[0].attempted_at <= logged[1].attempted_at
    assert _count(gw, Case) == 1


def test_worker_killed_in_the_middle_of_filing_files_one_case(gw, env, tracker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pause = tmp_path / "paused"
    [submitted] = intake.submit(
        gw,
        [
            InboundMessage(
                channel="pausing",
                provider="testsms",
                provider_message_id="SM-crash-1",
                sender="+243810000009",
                text="A soldier took my sister to the base",
                language_hint="en",
                received_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
            )
        ],
    )
    first = start_worker(env, tmp_path, hooked=True, GATEWAY_TEST_PAUSE_FILE=str(pause))
    second = None
    try:
        wait_for(pause.exists, 20, "the worker to pause inside the filing", tmp_path)
        kill(first)
        assert _count(gw, Case) == 0, "the uncommitted case must not exist"
        second = start_worker(env, tmp_path, hooked=True, GATEWAY_TEST_PAUSE_FILE=str(pause))
        wait_for(lambda: len(tracker.cases) == 1, 25, "the case to reach the tracker", tmp_path)
        sent = tmp_path / "sent.log"
        wait_for(sent.exists, 10, "the receipt to be sent", tmp_path)
    finally:
        kill(first)
        kill(second)
    with gw.sessions() as session:
        event = session.get(InboundEvent, submitted.event_id)
        assert event.state == "done" and event.attempts == 2 and event.case_id is not None
        case = session.scalars(select(Case)).one()
        assert case.id == event.case_id
        # The number taken by the killed transaction was given back: no gap.
        assert case.sequence == 1
        [receipt_id] = session.scalars(select(OutboundMessage.id)).all()
    [key] = tracker.cases
    assert parse_case_number(key) is not None and parse_case_number(key).sequence == 1
    assert tracker.answers_for(key) == [201]
    assert sent.read_text().split() == [str(receipt_id)], "one receipt, sent once"
