"""A burst does not starve receipts: a worker finishes started reports before new messages.

The worker takes jobs in QUEUE_NAMES' order (gateway/core/runtime.py): a
report gone silent is filed, forwarded and its receipt sent before the next
new message is taken up, and each new message's reply goes out before the
message after it is handled. The jobs run in one burst worker, as in
production, on real Redis and both databases; the order is read from what
the provider was asked to send, and when.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from gateway.core.inbound import InboundMessage
from gateway.core.models import Conversation, InboundEvent
from gateway.core.runtime import QUEUE_NAMES
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.intake import submit as intake
from gateway.work import silence
from gateway.work.intake_relay import relay_all
from tests.support.fake_channels import install_channel, remove_channel
from tests.support.jobs import BurstWorker, run_jobs

FIRST = "+243810000500"
OTHERS = [f"+2438100005{n:02d}" for n in range(1, 7)]
CASE_NUMBER = re.compile(r"\d{4}-\d{6,}-\d")


class Provider:
    """The provider's side: each message sent, with how many inbound messages were handled then."""

    def __init__(self, gw) -> None:  # type: ignore[no-untyped-def]
        self.gw = gw
        self.sent: list[tuple[str, str, int]] = []
        install_channel("testsms", sender=self._deliver)

    def _deliver(self, settings, address: str, text: str, message_id: int) -> str:  # type: ignore[no-untyped-def]
        with self.gw.sessions() as session:
            handled = session.scalar(
                select(func.count())
                .select_from(InboundEvent)
                .where(InboundEvent.state == WorkState.DONE.value)
            )
        self.sent.append((address, text, handled))
        return f"out-{message_id}"


@pytest.fixture
def provider(gw) -> Iterator[Provider]:  # type: ignore[no-untyped-def]
    yield Provider(gw)
    remove_channel("testsms")


def _message(gw, sender: str, n: int) -> None:  # type: ignore[no-untyped-def]
    message = InboundMessage(
        channel="sms",
        provider="testsms",
        provider_message_id=f"in-order-{n}",
        sender=sender,
        text=f"Report {n}: what happened, where and when.",
        language_hint="en",
    )
    intake.submit(gw, [message])


def test_queues_are_worked_later_stages_first() -> None:
    assert QUEUE_NAMES == ("outbound", "forwarding", "media", "filing", "intake", "cleanup")


def test_a_silent_report_gets_its_receipt_before_new_messages_are_taken_up(  # type: ignore[no-untyped-def]
    gw, provider, tracker
) -> None:
    _message(gw, FIRST, 0)
    run_jobs(gw)
    [(address, question, _)] = provider.sent
    assert address == FIRST and not CASE_NUMBER.search(question)
    timeout = gw.settings.intake_timeout_seconds
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=utcnow() - timedelta(seconds=timeout + 1))
        )
    # A burst arrives; meanwhile the sweeper finds the first conversation silent.
    for n, sender in enumerate(OTHERS, start=1):
        _message(gw, sender, n)
    assert silence.enqueue_silent(gw) == 1
    assert gw.queue("filing").count == 1

    run_jobs(gw)  # one burst worker, as `complaint-gateway worker --burst` runs them

    after = provider.sent[1:]
    # The receipt first, before any message of the burst was handled ...
    address, receipt, handled = after[0]
    assert (address, handled) == (FIRST, 1) and CASE_NUMBER.search(receipt)
    # ... then each new reporter's question, sent before the next message is handled.
    assert [(address, handled) for address, _, handled in after[1:]] == [
        (sender, n) for n, sender in enumerate(OTHERS, start=2)
    ]
    assert len(tracker.cases) == 1  # forwarded in the same pass
    assert not any(queue.count for queue in gw.queues())


def test_filing_is_scheduled_for_the_second_the_silence_ends(gw, provider) -> None:  # type: ignore[no-untyped-def]
    """A conversation going silent before the next sweep is filed on time, not at that sweep."""
    _message(gw, FIRST, 0)
    _message(gw, OTHERS[0], 1)
    run_jobs(gw)
    timeout = gw.settings.intake_timeout_seconds
    interval = gw.settings.sweep_interval_seconds
    soon = utcnow() - timedelta(seconds=timeout - interval / 2)  # silent in half an interval
    later = utcnow() - timedelta(seconds=timeout - interval * 2)  # after the next sweep
    with gw.sessions() as session, session.begin():
        ids = dict(session.execute(select(Conversation.sender_pseudonym, Conversation.id)).all())
        first, other = (ids[gw.pseudonyms.pseudonym("sms", s)] for s in (FIRST, OTHERS[0]))
        session.execute(
            update(Conversation).where(Conversation.id == first).values(last_activity_at=soon)
        )
        session.execute(
            update(Conversation).where(Conversation.id == other).values(last_activity_at=later)
        )
    with gw.sessions() as session:
        stored = session.get(Conversation, first).last_activity_at  # as the database keeps it

    assert silence.enqueue_silent(gw) == 1
    assert silence.enqueue_silent(gw) == 0  # already scheduled: not again

    registry = gw.queue("filing").scheduled_job_registry
    assert registry.get_job_ids() == [f"conversation-timeout-{first}"]
    due = silence.due_at(stored, timedelta(seconds=timeout))
    assert registry.get_scheduled_time(f"conversation-timeout-{first}") == due
    assert due - stored >= timedelta(seconds=timeout) and due.microsecond == 0
    assert gw.queue("filing").count == 0  # nothing runs before the silence ends


def test_the_filing_job_itself_sends_the_receipt_and_forwards(gw, provider, tracker) -> None:  # type: ignore[no-untyped-def]
    """A report's receipt and forwarding follow its filing in the same job (carry_on)."""
    _message(gw, FIRST, 0)
    relay_all(gw)
    BurstWorker([gw.queue("intake")], connection=gw.redis).work(burst=True, logging_level="ERROR")
    [(address, question, _)] = provider.sent  # the intake job sent its question itself
    assert address == FIRST and not CASE_NUMBER.search(question)
    timeout = gw.settings.intake_timeout_seconds
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=utcnow() - timedelta(seconds=timeout + 1))
        )
    assert silence.enqueue_silent(gw) == 1

    BurstWorker([gw.queue("filing")], connection=gw.redis).work(burst=True, logging_level="ERROR")

    [(address, receipt, _)] = provider.sent[1:]
    assert address == FIRST and CASE_NUMBER.search(receipt)
    assert len(tracker.cases) == 1
    assert not any(queue.count for queue in gw.queues())
