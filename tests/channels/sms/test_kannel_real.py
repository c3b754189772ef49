"""End to end through a real Kannel: fakesmsc → bearerbox → smsbox → gateway → smsbox → fakesmsc.

A phone on Kannel's fake SMSC writes a report (its statement in two
concatenated parts, which Kannel joins), answers the questions, gets its
case number back through Kannel, then writes in Arabic (UCS-2). The
delivery reports Kannel sends to the dlr-url are recorded. Then, as
deployed (`complaint-gateway serve` under gunicorn, a worker, PostgreSQL
and Redis), a 700-letter Arabic SMS reaches the case tracker through
Kannel's get-url and through its post-url. Skipped only
where Debian's kannel and kannel-extras are not installed (failed instead
under GATEWAY_TEST_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import select

from gateway.conversation import texts as conversation
from gateway.core.models import InboundEvent, OutboundMessage
from tests.channels.sms.harness import events, outbound_messages, receipt_parts
from tests.conftest import KEYS
from tests.support.jobs import run_jobs
from tests.support.kannel import FakePhone, KannelStack, free_port, missing_binaries, wait_for
from tests.support.served import Process, base_env, fresh_pg_schema, wait_healthy
from tests.support.tracker import TrackerServer

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
    assert first == [conversation.ASK_AFFECTED]
    with gw.sessions() as session:
        [event] = session.scalars(select(InboundEvent)).all()
        statement = gw.cipher.decrypt_json(event.payload_enc)["text"]
        assert (
            statement == "A guard at the distribution point asked me for sex in exchange for food."
        )
        assert event.provider == "kannel" and len(event.provider_message_id) == 36  # Kannel's UUID
    for answer, question in (
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


# --- through `complaint-gateway serve` (gunicorn) and a worker, as deployed ---------------------


def arabic_letters(count: int, words: tuple[str, ...] = ("بلغت", "عن", "حارس", "المخيم")) -> str:
    """A text of `count` Arabic letters (words of the phrase, again and again, and spaces)."""
    out, letters = [], 0
    while letters < count:
        word = words[len(out) % len(words)][: count - letters]
        out.append(word)
        letters += len(word)
    return " ".join(out)


# 700 letters, 875 characters: 14 UCS-2 parts; recoded to UTF-8 (mo-recode), 4,725 bytes in `%a`.
ARABIC = {
    "get-url": arabic_letters(700),
    "post-url": arabic_letters(700, ("أخذ", "الحارس", "هاتفي", "أمس")),
}
KANNEL_PHONES = {"get-url": "+243810000402", "post-url": "+243810000403"}


@pytest.fixture(scope="module")
def deployed(real_redis_url: str) -> Iterator[tuple[dict[str, KannelStack], TrackerServer]]:
    """serve + worker on PostgreSQL and Redis; one real Kannel by get-url, one by post-url."""
    if missing_binaries():
        pytest.skip("Kannel is not installed")
    root = Path(tempfile.mkdtemp(prefix="cg-kannel-served-"))
    port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"
    stacks = {}
    for service in KANNEL_PHONES:
        (root / service).mkdir()
        stacks[service] = KannelStack(
            root / service, gateway_url=gateway_url, service=service
        ).start()
    tracker = TrackerServer(secret="kannel-served-tracker-secret").start()
    redis_lib.Redis.from_url(real_redis_url).flushdb()
    with fresh_pg_schema() as database_url:
        env = base_env(
            **KEYS,
            **stacks["get-url"].settings(),
            DATABASE_URL=database_url,
            REDIS_URL=real_redis_url,
            CASE_TRACKER_URL=tracker.url,
            CASE_TRACKER_SECRET=tracker.secret,
            INTAKE_TIMEOUT_SECONDS="1",
            SWEEP_INTERVAL_SECONDS="1",
        )
        args = ["--data-dir", str(root / "var")]
        serve = ["serve", "--port", str(port), "--workers", "1", *args]
        processes = [
            Process.start("serve", serve, env, root, root),
            Process.start("worker", ["worker", *args], env, root, root),
        ]
        try:
            wait_healthy(gateway_url, processes)
            yield stacks, tracker
        finally:
            for process in processes:
                process.stop()
            for stack in stacks.values():
                stack.stop()
            tracker.stop()
    redis_lib.Redis.from_url(real_redis_url).flushdb()
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("service", list(KANNEL_PHONES))
def test_a_700_letter_arabic_sms_through_kannel_and_gunicorn_is_a_case(deployed, service) -> None:  # type: ignore[no-untyped-def]
    """The report 414 lost before (gunicorn's 4,094-byte request line) reaches the tracker."""
    stacks, tracker = deployed
    phone = FakePhone(stacks[service], KANNEL_PHONES[service])
    try:
        phone.send(ARABIC[service], ucs2=True)
        wait_for(
            f"the Arabic report by {service} at the tracker",
            lambda: any(c.get("narrative") == ARABIC[service] for c in tracker.cases.values()),
        )
    finally:
        phone.hang_up()
    assert sum(ch != " " for ch in ARABIC[service]) == 700
