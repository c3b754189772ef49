"""Status look-ups: same answer for unknown and wrong, locks that reveal nothing."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.cases import lookup
from gateway.cases.filing import file_report
from gateway.cases.lookup import Answer
from gateway.cases.reports import NewReport
from gateway.core.models import LookupThrottle
from gateway.core.schema import utcnow
from gateway.work.sweeper import sweep
from tests.test_no_leaks import redis_dump


def test_the_sweeper_forgets_failures_that_no_longer_matter(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    """A count is kept while it can make a look-up wait, and no longer."""
    wrong = wrong_pin(receipt.pin)
    for number in ("2026-000777-0", "2026-000778-1", receipt.case_number):
        for _ in range(6):
            ask(gw, number, wrong, None, "web")
    day_ago = utcnow() - lookup.FAILURE_MEMORY - timedelta(minutes=1)
    with gw.sessions() as session, session.begin():
        keys = list(session.scalars(select(LookupThrottle.key).order_by(LookupThrottle.key)))
        old, waiting, recent = keys
        session.execute(
            update(LookupThrottle)
            .where(LookupThrottle.key.in_([old, waiting]))
            .values(window_start=day_ago, locked_until=day_ago)
        )
        session.execute(
            update(LookupThrottle)
            .where(LookupThrottle.key == waiting)
            .values(locked_until=utcnow() + timedelta(minutes=5))
        )
    sweep(gw)
    with gw.sessions() as session:
        left = set(session.scalars(select(LookupThrottle.key)))
    assert left == {waiting, recent}


@pytest.fixture
def receipt(gw):  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        return file_report(session, gw, NewReport(narrative="x", language="en"), channel="web")


def ask(
    gw, number: str, pin: str, client: str | None = "198.51.100.7", channel: str = "sms"
) -> Answer:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        return lookup.check(session, gw, number, pin, client, channel=channel).answer


def wrong_pin(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def test_found_with_any_separators(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    digits = receipt.case_number.replace("-", "")
    assert ask(gw, receipt.case_number, receipt.pin) is Answer.FOUND
    assert ask(gw, f" {digits[:4]} {digits[4:10]} {digits[10:]} ", receipt.pin) is Answer.FOUND


def test_unknown_number_and_wrong_pin_answer_the_same(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    assert ask(gw, receipt.case_number, wrong_pin(receipt.pin)) is Answer.WRONG
    assert ask(gw, "2026-000777-" + "0123456789"[0], receipt.pin) is Answer.WRONG
    assert ask(gw, "not a number", receipt.pin) is Answer.WRONG


@pytest.mark.parametrize("existing", [True, False])
def test_repeated_failures_lock_the_number_whether_it_exists_or_not(gw, receipt, existing) -> None:  # type: ignore[no-untyped-def]
    number = receipt.case_number if existing else "2026-000555-" + "0"
    answers = [ask(gw, number, wrong_pin(receipt.pin), client=None) for _ in range(5)]
    assert answers == [Answer.WRONG] * 5
    # Now even the right PIN gets LOCKED, exactly as an unknown number does.
    assert ask(gw, number, receipt.pin, client=None) is Answer.LOCKED
    if existing:
        assert ask(gw, receipt.case_number.replace("-", " "), receipt.pin) is Answer.LOCKED


def test_success_clears_earlier_failures(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    for _ in range(4):
        ask(gw, receipt.case_number, wrong_pin(receipt.pin), client=None)
    assert ask(gw, receipt.case_number, receipt.pin, client=None) is Answer.FOUND
    for _ in range(4):
        assert ask(gw, receipt.case_number, wrong_pin(receipt.pin), client=None) is Answer.WRONG
    assert ask(gw, receipt.case_number, receipt.pin, client=None) is Answer.FOUND


def test_one_client_is_rate_limited_across_numbers(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    for n in range(lookup.MAX_ATTEMPTS_PER_CLIENT):
        ask(gw, f"2026-{n:06d}-0", "123456", client="203.0.113.9")
    assert ask(gw, receipt.case_number, receipt.pin, client="203.0.113.9") is Answer.LOCKED
    assert ask(gw, receipt.case_number, receipt.pin, client="203.0.113.10") is Answer.FOUND
    keys = [k.decode() for k in gw.redis.keys("*")]
    assert keys and not any("203.0.113" in k for k in keys)


def test_mailbox_round_trip(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    from gateway.cases import mailbox
    from gateway.work.reporter import message_reporter, submit_report
    from tests.support.jobs import run_jobs

    receipt = submit_report(
        gw, NewReport(narrative="the report itself", language="fr"), channel="web"
    )
    run_jobs(gw)
    assert len(tracker.cases) == 1
    view = mailbox.check_status(gw, receipt.case_number, receipt.pin, client=None)
    assert view.answer is Answer.FOUND and view.status == "received" and view.messages == ()
    assert message_reporter(gw, receipt.case_id, "Can you tell us where?", "focal")
    assert mailbox.reply(gw, receipt.case_id, "Near the market")
    assert not mailbox.reply(gw, receipt.case_id, "   ")
    view = mailbox.view_case(gw, receipt.case_id)
    assert [(m.direction, m.text) for m in view.messages] == [
        ("in", "Can you tell us where?"),
        ("out", "Near the market"),
    ]
    assert all("the report itself" not in m.text for m in view.messages)
    wrong = mailbox.check_status(gw, receipt.case_number, wrong_pin(receipt.pin), client=None)
    assert wrong.answer is Answer.WRONG and wrong.case_id is None and wrong.status is None


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (9, 16), (10, 30), (60, 30), (10**6, 30)],
)
def test_the_wait_doubles_up_to_thirty_minutes(failures: int, minutes: int) -> None:
    """The figures docs/threat-model.md (finding 12) computes with."""
    assert lookup.delay_after(failures) == timedelta(minutes=minutes)


def test_each_channel_waits_on_its_own(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    number, wrong = receipt.case_number, wrong_pin(receipt.pin)
    assert [ask(gw, number, wrong, None, "web") for _ in range(5)] == [Answer.WRONG] * 5
    assert ask(gw, number, receipt.pin, None, "web") is Answer.LOCKED
    for channel in ("sms", "whatsapp", "telegram", "voice"):
        assert ask(gw, number, receipt.pin, None, channel) is Answer.FOUND
    # The reporter's success on another channel leaves the web's wait in place.
    assert ask(gw, number, receipt.pin, None, "web") is Answer.LOCKED


def test_keys_are_keyed_hashes(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    """Neither the database nor Redis holds a typed case number or a client in clear."""
    typed = [receipt.case_number, "2026-000999-1", "not a number"]
    for number in typed:
        ask(gw, number, wrong_pin(receipt.pin), client="203.0.113.44", channel="web")
    with gw.sessions() as session:
        rows = [(t.key, str(t.window_start)) for t in session.scalars(select(LookupThrottle))]
    assert len(rows) == 3 and all(re.fullmatch(r"[0-9a-f]{32,64}", key) for key, _ in rows)
    dump = redis_dump(gw) + repr(rows)
    for clear in ["203.0.113", "NOTANUMBER", "not a number"] + [
        re.sub(r"\D", "", n) for n in typed[:2]
    ]:
        assert clear not in dump


def test_a_burst_at_the_end_of_a_wait_gets_one_check(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    """Sent at once from many addresses, eight guesses get one check, not eight."""
    number, wrong = receipt.case_number, wrong_pin(receipt.pin)
    for _ in range(5):
        ask(gw, number, wrong, None, "web")
    with gw.sessions() as session, session.begin():
        session.execute(update(LookupThrottle).values(locked_until=utcnow()))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda i: ask(gw, number, wrong, f"192.0.2.{i}", "web"), range(8)))
    assert sorted(answers) == sorted([Answer.WRONG] + [Answer.LOCKED] * 7)


def test_the_reporter_getting_in_during_other_look_ups_breaks_none(gw, receipt) -> None:  # type: ignore[no-untyped-def]
    """A success deletes the number's row while other look-ups wait for it: they go on."""
    number = receipt.case_number
    for _ in range(3):
        ask(gw, number, wrong_pin(receipt.pin), None, "web")
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda i: ask(gw, number, receipt.pin, f"192.0.2.{i}", "web"), range(6))
        )
    assert answers == [Answer.FOUND] * 6
