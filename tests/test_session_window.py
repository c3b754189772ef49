"""WhatsApp's 24-hour window: a focal point's message goes out only while it is open.

Outside the window WhatsApp refuses free-form messages from a business; the
message then waits, like any other, for the reporter's next status check.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.cases import mailbox
from gateway.core.models import InboundEvent
from gateway.work.reporter import message_reporter
from tests.support.fake_channels import remove_channel
from tests.support.jobs import run_jobs
from tests.support.questions import all_but_last
from tests.test_conversation import Phone, only_case, receipt_parts

WHATSAPP = "whatsapp:+243810000011"


@pytest.fixture
def whatsapp(gw) -> Iterator[Phone]:  # type: ignore[no-untyped-def]
    yield Phone(gw, number=WHATSAPP, channel="whatsapp")
    remove_channel("testsms")


@pytest.fixture
def sms(gw) -> Iterator[Phone]:  # type: ignore[no-untyped-def]
    yield Phone(gw, channel="sms")
    remove_channel("testsms")


def report_with_follow_up(phone: Phone) -> tuple[str, str]:
    phone.send("report text")
    before, last = all_but_last(follow_up="1")
    for answer in before:
        phone.send(answer)
    return receipt_parts(phone.send(last)[0])


def age_reporter_messages(gw, hours: float) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        for event in session.scalars(select(InboundEvent)):
            event.received_at -= timedelta(hours=hours)


@pytest.mark.parametrize(("hours", "pushed"), [(23, True), (25, False)])
def test_a_message_goes_out_only_inside_the_window(gw, whatsapp, hours, pushed) -> None:  # type: ignore[no-untyped-def]
    number, pin = report_with_follow_up(whatsapp)
    age_reporter_messages(gw, hours)
    case = only_case(gw)
    with gw.sessions() as session:
        assert mailbox.can_push(session, case) is pushed
    assert message_reporter(gw, case.id, "Can you tell us which camp?", "focal")
    run_jobs(gw)
    assert (whatsapp.inbox[-1] == "Can you tell us which camp?") is pushed
    [status] = whatsapp.send(f"STATUS {number} {pin}")
    assert "Can you tell us which camp?" in status


def test_writing_again_opens_the_window_again(gw, whatsapp) -> None:  # type: ignore[no-untyped-def]
    number, pin = report_with_follow_up(whatsapp)
    age_reporter_messages(gw, 48)
    case = only_case(gw)
    with gw.sessions() as session:
        assert not mailbox.can_push(session, case)
    whatsapp.send(f"STATUS {number} {pin}")
    with gw.sessions() as session:
        assert mailbox.can_push(session, case)


def test_sms_has_no_window(gw, sms) -> None:  # type: ignore[no-untyped-def]
    report_with_follow_up(sms)
    age_reporter_messages(gw, 24 * 30)
    with gw.sessions() as session:
        assert mailbox.can_push(session, only_case(gw))
