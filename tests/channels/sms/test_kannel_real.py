"""End to end through a real Kannel: fakesmsc → bearerbox → smsbox → gateway → smsbox → fakesmsc.

A phone on Kannel's fake SMSC writes a report (its statement in two
concatenated parts, which Kannel joins), answers the questions, gets its
case number back through Kannel, then writes in Arabic (UCS-2). The
delivery reports Kannel sends to the dlr-url are recorded. Skipped only
where Debian's kannel and kannel-extras are not installed (failed instead
under GATEWAY_TEST_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway import conversation
from gateway.models import InboundEvent, OutboundMessage
from tests.channels.sms.harness import events, outbound_messages, receipt_parts
from tests.support.jobs import run_jobs
from tests.support.kannel import FakePhone, KannelStack, missing_binaries, wait_for

pytestmark = pytest.mark.slow
NUMBER = "+243810000401"


@pytest.fixture(scope="module")
def kannel_stack() -> Iterator[KannelStack]:
    missing = missing_binaries()
    if missing:
        message = (
            f"Kannel is not installed ({', '.join(missing)} missing;"
            " apt-get install kannel kannel-extras)"
        )
        if os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and GATEWAY_TEST_REQUIRE_SERVICES=1")
        pytest.skip(message)
    stack = KannelStack(Path(tempfile.mkdtemp(prefix="cg-kannel-"))).start()
    yield stack
    stack.stop()


@pytest.fixture
def env(env: dict[str, str], kannel_stack: KannelStack) -> dict[str, str]:
    return {**env, **kannel_stack.settings()}


@pytest.fixture
def phone(app, kannel_stack: KannelStack) -> Iterator[FakePhone]:  # type: ignore[no-untyped-def]
    kannel_stack.slot.app = app
    fake = FakePhone(kannel_stack, NUMBER)
    yield fake
    fake.hang_up()
    kannel_stack.slot.app = None


def exchange(gw, phone: FakePhone, text: str = "", **kind: object) -> list[str]:  # type: ignore[no-untyped-def]
    """One SMS in through Kannel, the worker's turn, and what came back through Kannel."""
    before_in = len(events(gw))
    before_out = len(outbound_messages(gw))
    phone.send(text, **kind)  # type: ignore[arg-type]
    wait_for("the SMS reaching the gateway", lambda: len(events(gw)) > before_in)
    run_jobs(gw)
    sent = len(outbound_messages(gw)) - before_out
    if sent:
        wait_for("the reply reaching the phone", lambda: len(phone.received()) >= sent)
    return [r.text for r in phone.received()]


def test_a_report_through_a_real_kannel(gw, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    first = exchange(
        gw,
        phone,
        udh_parts=("A guard at the distribution point asked me ", "for sex in exchange for food."),
    )
    assert first == [conversation.ASK_CATEGORY]
    with gw.sessions() as session:
        [event] = session.scalars(select(InboundEvent)).all()
        statement = gw.cipher.decrypt_json(event.payload_enc)["text"]
        assert (
            statement == "A guard at the distribution point asked me for sex in exchange for food."
        )
        assert event.provider == "kannel" and len(event.provider_message_id) == 36  # Kannel's UUID
    for answer, question in (
        ("1", conversation.ASK_AFFECTED),
        ("2", conversation.ASK_DANGER),
        ("2", conversation.ASK_WHERE_WHEN),
        ("At the camp, yesterday", conversation.ASK_FOLLOW_UP),
    ):
        assert exchange(gw, phone, answer) == [question]
    [receipt] = exchange(gw, phone, "1")
    number, _pin = receipt_parts(receipt)
    assert tracker.requests[0].body["case_number"] == number

    exchange(gw, phone, "مساعدة", ucs2=True)
    with gw.sessions() as session:
        last = session.scalars(select(InboundEvent).order_by(InboundEvent.id.desc())).first()
        assert gw.cipher.decrypt_json(last.payload_enc)["text"] == "مساعدة"

    def all_delivered() -> bool:
        with gw.sessions() as session:
            statuses = session.scalars(select(OutboundMessage.delivery_status)).all()
        return bool(statuses) and all(s == "delivered" for s in statuses)

    wait_for("Kannel's delivery reports", all_delivered)
