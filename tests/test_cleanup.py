"""Provider cleanup and delivery reports, provider-neutral (channels/sms tests cover Twilio's)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.core.inbound import InboundMessage
from gateway.core.models import OutboundMessage, ProviderCleanup
from gateway.core.schema import utcnow
from gateway.intake import submit as intake
from gateway.work import cleanup
from gateway.work.delivery import DeliveryStatus, record_status
from tests.support.fake_channels import fake_channel
from tests.support.jobs import run_jobs


class Provider:
    """Plays a provider's API: sends, and deletes only when told the copy is done."""

    def __init__(self) -> None:
        self.deletable = True
        self.deleted: list[str] = []
        self.attempts = 0

    def send(self, settings, address: str, text: str, message_id: int) -> str:  # type: ignore[no-untyped-def]
        return f"P{message_id}"

    def delete(self, settings, provider_message_id: str) -> bool:  # type: ignore[no-untyped-def]
        self.attempts += 1
        if self.deletable:
            self.deleted.append(provider_message_id)
        return self.deletable


@pytest.fixture
def provider() -> Iterator[Provider]:
    fake = Provider()
    with fake_channel("testclean", sender=fake.send, cleaner=fake.delete):
        yield fake


def submit(gw, mid: str, text: str = "HELP", provider: str = "testclean") -> None:  # type: ignore[no-untyped-def]
    intake.submit(
        gw,
        [InboundMessage("sms", provider, mid, "+243810000501", text=text)],
    )
    run_jobs(gw)


def rows(gw) -> list[ProviderCleanup]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return list(session.scalars(select(ProviderCleanup).order_by(ProviderCleanup.id)))


def test_inbound_copy_deleted_once_processed_reply_after_its_report(gw, provider) -> None:  # type: ignore[no-untyped-def]
    submit(gw, "in-1")
    assert provider.deleted == ["in-1"]
    with gw.sessions() as session:
        reply = session.scalars(select(OutboundMessage)).one()
    assert [r.provider_message_id for r in rows(gw)] == ["in-1", reply.provider_message_id]
    assert rows(gw)[1].next_attempt_at > utcnow() + timedelta(minutes=30)  # the fallback
    assert record_status(gw, "testclean", reply.provider_message_id, DeliveryStatus.DELIVERED)
    run_jobs(gw)
    assert provider.deleted == ["in-1", reply.provider_message_id]
    assert [r.state for r in rows(gw)] == ["done", "done"]


def test_a_provider_without_cleaner_gets_no_rows(gw, provider) -> None:  # type: ignore[no-untyped-def]
    with fake_channel("testplain", sender=provider.send):
        submit(gw, "plain-1", provider="testplain")
    assert rows(gw) == []


def test_a_copy_never_deletable_is_dead_lettered_after_the_retries(gw, provider) -> None:  # type: ignore[no-untyped-def]
    provider.deletable = False
    submit(gw, "in-2")
    [row] = [r for r in rows(gw) if r.provider_message_id == "in-2"]
    for _ in range(len(cleanup.RETRY_DELAYS) + 1):
        with gw.sessions() as session, session.begin():  # the next retry is due now
            session.execute(update(ProviderCleanup).values(next_attempt_at=utcnow()))
        cleanup.enqueue(gw, row.id)
        run_jobs(gw)
    [row] = [r for r in rows(gw) if r.provider_message_id == "in-2"]
    assert row.state == "dead" and row.last_error == "not yet deletable"
    assert provider.attempts == len(cleanup.RETRY_DELAYS) + 1


def test_delivery_status_never_goes_back(gw, provider) -> None:  # type: ignore[no-untyped-def]
    submit(gw, "in-3")
    with gw.sessions() as session:
        reply = session.scalars(select(OutboundMessage)).one()
    pid = reply.provider_message_id
    assert record_status(gw, "testclean", pid, DeliveryStatus.SENT)
    assert record_status(gw, "testclean", pid, DeliveryStatus.QUEUED)
    with gw.sessions() as session:
        assert session.get(OutboundMessage, reply.id).delivery_status == "sent"
    assert record_status(gw, "testclean", pid, DeliveryStatus.FAILED, error="E42")
    assert record_status(gw, "testclean", pid, DeliveryStatus.DELIVERED)
    with gw.sessions() as session:
        message = session.get(OutboundMessage, reply.id)
        assert message.delivery_status == "failed" and message.last_error == "delivery failed: E42"
    assert not record_status(gw, "testclean", "unknown-id", DeliveryStatus.DELIVERED)
    assert not record_status(gw, "other", pid, DeliveryStatus.DELIVERED)
