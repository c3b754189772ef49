"""Messages to reporters: one receipt per case, retried, and forgotten once sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.core.inbound import InboundMessage
from gateway.core.models import OutboundMessage
from gateway.intake import submit as intake
from gateway.work import outbound
from gateway.work.sweeper import sweep
from tests.support.fake_channels import fake_channel
from tests.support.jobs import run_jobs


class RecordingSender:
    """Plays a provider's send API: records what it was asked, fails on request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failures: list[Exception] = []

    def __call__(self, settings, address: str, text: str, message_id: int) -> str:  # type: ignore[no-untyped-def]
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((address, text))
        return f"PM{message_id}"


@pytest.fixture
def sender() -> Iterator[RecordingSender]:
    recording = RecordingSender()
    with fake_channel("testsms", sender=recording):
        yield recording


def inbound(mid: str) -> InboundMessage:
    return InboundMessage(
        channel="oneshot",
        provider="testsms",
        provider_message_id=mid,
        sender="+243810000002",
        text="a report",
        language_hint="en",
        received_at=datetime(2026, 11, 28, tzinfo=UTC),
    )


def test_receipt_sent_once_and_forgotten_after_sending(gw, sender) -> None:  # type: ignore[no-untyped-def]
    intake.submit(gw, [inbound("m1")])
    run_jobs(gw)
    assert len(sender.sent) == 1
    address, text = sender.sent[0]
    assert address == "+243810000002"
    assert "a report" not in text and "PIN" in text
    with gw.sessions() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.state == "done" and message.provider_message_id == f"PM{message.id}"
        assert gw.cipher.decrypt(message.body_enc) == b""
        assert gw.cipher.decrypt(message.address_enc) == b""
    sweep(gw)
    run_jobs(gw)
    assert len(sender.sent) == 1


def test_provider_failure_is_retried(gw, sender) -> None:  # type: ignore[no-untyped-def]
    sender.failures = [ConnectionError("down"), TimeoutError("slow")]
    intake.submit(gw, [inbound("m2")])
    run_jobs(gw)
    assert len(sender.sent) == 1
    with gw.sessions() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.state == "done" and message.attempts == 3


def test_permanent_refusal_is_not_retried(gw, sender) -> None:  # type: ignore[no-untyped-def]
    sender.failures = [outbound.PermanentSendError("number blocked")]
    intake.submit(gw, [inbound("m3")])
    run_jobs(gw)
    assert sender.sent == []
    with gw.sessions() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.state == "dead" and message.attempts == 1
        assert message.last_error == "number blocked"


def test_job_arguments_are_ids_only(gw, sender) -> None:  # type: ignore[no-untyped-def]
    intake.submit(gw, [inbound("m4")])
    for queue in gw.queues():
        for job in queue.get_jobs():
            assert all(isinstance(arg, int) for arg in job.args) and not job.kwargs
            assert "243810000002" not in str(job.to_dict())
