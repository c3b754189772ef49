"""A burst of inbound messages, with provider redeliveries mixed in, on both backends.

Providers redeliver when an answer is slow or lost, and they do it while
other messages keep coming. Whatever the interleaving, each distinct
message must become one inbound event, one case, one forwarding and one
receipt.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from gateway.core.inbound import InboundMessage
from gateway.core.models import Case, InboundEvent, OutboundMessage, OutboxEntry
from gateway.intake import submit as intake
from tests.support.jobs import run_jobs

SUBMISSIONS = 150  # 30 of them redeliveries
DISTINCT = 120
THREADS = 4


def _message(n: int) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=f"SM-burst-{n:04d}",
        sender=f"+24381{n:07d}",
        text=f"Report number {n} from the burst",
        language_hint="en",
        received_at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    )


def test_burst_with_redeliveries_makes_one_case_per_message(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    numbers = list(range(DISTINCT)) + rng.choices(range(DISTINCT), k=SUBMISSIONS - DISTINCT)
    rng.shuffle(numbers)
    # Each provider thread sends its share one message at a time or in batches of five.
    plans: list[list[list[int]]] = []
    for share in (numbers[i::THREADS] for i in range(THREADS)):
        batches, cursor = [], 0
        while cursor < len(share):
            size = rng.choice((1, 1, 5))
            batches.append(share[cursor : cursor + size])
            cursor += size
        plans.append(batches)
    results: list[intake.Submitted] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def provider(batches: list[list[int]]) -> None:
        barrier.wait()
        for batch in batches:
            done = intake.submit(gw, [_message(n) for n in batch])
            with lock:
                results.extend(done)

    threads = [threading.Thread(target=provider, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == SUBMISSIONS
    assert sum(not r.duplicate for r in results) == DISTINCT
    run_jobs(gw, rounds=20)

    with gw.sessions() as session:
        events = session.scalars(select(InboundEvent)).all()
        submitted_ids = {r.event_id for r in results}
        assert len(events) == DISTINCT and {e.id for e in events} == submitted_ids
        assert all(e.state == "done" for e in events)
        assert len({e.case_id for e in events}) == len(events)
        assert session.scalar(select(func.count()).select_from(Case)) == len(events)
        states = session.scalars(select(OutboxEntry.state)).all()
        assert states == ["done"] * len(events)
        receipts = session.scalars(select(OutboundMessage.dedupe_key)).all()
        assert len(receipts) == len(set(receipts)) == len(events)
    assert len(tracker.cases) == len(events)
    assert [r.answered for r in tracker.requests] == [201] * len(events), "nothing sent twice"
