"""Africa's Talking USSD: sessions walked as Africa's Talking sends them, from outside.

Each request carries every input of the session so far, joined by `*`
(tests/fixtures/africastalking_ussd/request.json). The answers are read as
the phone would show them; the case is read where the tracker received it.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from gateway.cases.numbering import parse_case_number
from gateway.core.models import Case, Conversation, OutboundMessage
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.work.sweeper import sweep
from tests.channels.ussd.conftest import KEY, Phone, recorded_request
from tests.support.jobs import run_jobs
from tests.support.tracker import TrackerServer

STATEMENT = "He came at night * twice, to the well"  # a `*` typed by the reporter
MORE = "It was the driver of the white truck"
RECEIPT = re.compile(r"(\d{4}-\d{6}-\d)\nPIN: (\d{3} \d{3})")


def case_count(gw: Gateway) -> int:
    with gw.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def report(phone: Phone, *, consent: str = "2", who: str = "0") -> str:
    """Walk a whole report in English, `who` the answer to "who did it"; the last screen."""
    assert phone.dial().startswith("CON 1 English")
    assert phone.press("1").startswith("CON 1 Report")
    assert "1 Sexual exploitation" in phone.press("1")
    assert "danger" in phone.press("1")
    assert "SMS" in phone.press("2")
    assert "Type what happened" in phone.press(consent)
    assert "1 Add more" in phone.press(STATEMENT)
    assert "Type the rest" in phone.press("1")
    assert "1 Add more" in phone.press(MORE)
    assert "who did it?" in phone.press("2")
    return phone.press(who)


def test_a_session_files_one_case_that_reaches_the_tracker(
    gw: Gateway, phone: Phone, tracker: TrackerServer
) -> None:
    last = report(phone)
    assert last.startswith("END ")
    found = RECEIPT.search(last)
    assert found, last
    assert parse_case_number(found.group(1)) is not None
    run_jobs(gw)
    assert len(tracker.cases) == 1
    (sent,) = tracker.cases.values()
    assert sent["channel"] == "ussd"
    assert sent["case_number"] == found.group(1)
    assert STATEMENT in sent["narrative"] and MORE in sent["narrative"]
    assert sent["category"] == "sexual_exploitation"
    for screen in phone.screens:
        assert len(screen) <= 182 and screen[:4] in ("CON ", "END ")


def test_the_last_request_sent_again_files_nothing_more(gw: Gateway, phone: Phone) -> None:
    last = report(phone)
    assert phone.again() == last  # the same screen, the same number and PIN
    gw.redis.flushdb()  # even without the kept screen: the session is known as filed
    again = phone.again()
    assert again.startswith("END ") and "received" in again and not RECEIPT.search(again)
    assert case_count(gw) == 1


def test_every_input_sent_again_changes_nothing(gw: Gateway, phone: Phone) -> None:
    phone.dial()
    for value in ("1", "1", "1", "2", "2", STATEMENT, "1", MORE):
        first = phone.press(value)
        assert phone.again() == first
    assert "1 Add more" in phone.screens[-1]
    with gw.sessions() as session:
        (row,) = session.scalars(select(Conversation)).all()
        answers = gw.cipher.decrypt_json(row.answers_enc)
    assert answers["statement"] == f"{STATEMENT}\n{MORE}"
    assert "who did it?" in phone.press("2") and phone.again() == phone.screens[-1]
    assert case_count(gw) == 0
    assert phone.press("3").startswith("END ")
    assert phone.again() == phone.screens[-1]
    assert case_count(gw) == 1


@pytest.mark.parametrize(
    ("keys", "personnel"),
    [
        (["1"], "military"),
        (["2"], "police"),
        (["3"], "civilian_staff"),
        (["4"], "other"),
        (["0"], "unknown"),  # "not sure"
        (["9", "2"], "police"),  # not one of the choices: asked again
        (["", "x", "4"], "other"),
    ],
)
def test_who_did_it_reaches_the_case(
    gw: Gateway, phone: Phone, keys: list[str], personnel: str
) -> None:
    phone.dial()
    for value in ("1", "1", "0", "2", "2", STATEMENT, "2", *keys[:-1]):
        phone.press(value)
    if len(keys) > 1:
        assert phone.screens[-1].startswith("CON Not understood.\nLast question: who did it?")
        assert case_count(gw) == 0
    last = phone.press(keys[-1])
    assert RECEIPT.search(last), last
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.personnel_category, case.category, case.victim_age_group) == (
        personnel,
        None,
        None,
    )


def test_a_session_cut_at_who_did_it_is_filed_without_it(
    gw: Gateway, phone: Phone, tracker: TrackerServer
) -> None:
    phone.dial()
    for value in ("1", "1", "1", "2", "2", STATEMENT, "2"):
        phone.press(value)
    assert "who did it?" in phone.screens[-1] and case_count(gw) == 0
    past = timedelta(seconds=gw.settings.intake_timeout_seconds + 5)
    with gw.sessions() as session, session.begin():
        session.execute(update(Conversation).values(last_activity_at=utcnow() - past))
    sweep(gw)
    run_jobs(gw)
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
    assert (case.personnel_category, case.category) == (None, "sexual_exploitation")


def test_a_status_check_gives_the_status_never_the_statement(
    gw: Gateway, client: Any, phone: Phone
) -> None:
    found = RECEIPT.search(report(phone))
    assert found
    number, pin = found.group(1), found.group(2).replace(" ", "")
    checker = Phone(client, "ATUid_check_0001", "+243810000302")
    checker.dial()
    assert "Check a report" in checker.press("1")
    assert "case number" in checker.press("2")
    assert "PIN" in checker.press(number)
    last = checker.press(pin)
    assert last == f"END Case {number}: received."
    assert checker.again() == last
    for screen in checker.screens:
        assert len(screen) <= 182 and screen[:4] in ("CON ", "END ")
        assert "night" not in screen and "driver" not in screen


def test_a_wrong_pin_is_refused_without_saying_which_part_was_wrong(
    gw: Gateway, client: Any, phone: Phone
) -> None:
    found = RECEIPT.search(report(phone))
    assert found
    checker = Phone(client, "ATUid_check_0002", "+243810000303")
    checker.dial()
    for value in ("1", "2", found.group(1)):
        checker.press(value)
    assert checker.press("000000").startswith("END Case number or PIN not recognised")


def test_choices_not_understood_ask_again(phone: Phone) -> None:
    assert phone.dial().startswith("CON 1 English")
    assert phone.press("42").startswith("CON ?\n1 English")
    assert phone.press("1").startswith("CON 1 Report")
    assert phone.press("7").startswith("CON Not understood.\n1 Report")
    assert "1 Sexual exploitation" in phone.press("1")
    assert phone.press("x").startswith("CON Not understood.\nWhat is it about?")


def test_the_language_chosen_is_the_session_language(gw: Gateway, phone: Phone) -> None:
    phone.dial()
    assert phone.press("4").startswith("CON 1 Signaler")  # Français, fourth in the menu
    assert "Exploitation sexuelle" in phone.press("1")


@pytest.mark.parametrize("consent", ["1", "2"])
def test_a_session_cut_after_the_statement_is_filed_after_silence(
    gw: Gateway, phone: Phone, tracker: TrackerServer, consent: str
) -> None:
    phone.dial()
    for value in ("1", "1", "2", "1", consent, STATEMENT):
        phone.press(value)
    assert case_count(gw) == 0  # the operator cut the session here
    past = timedelta(seconds=gw.settings.intake_timeout_seconds + 5)
    with gw.sessions() as session, session.begin():
        session.execute(update(Conversation).values(last_activity_at=utcnow() - past))
    sweep(gw)
    run_jobs(gw)
    assert case_count(gw) == 1
    (sent,) = tracker.cases.values()
    assert sent["channel"] == "ussd" and STATEMENT in sent["narrative"]
    with gw.sessions() as session:
        messages = session.scalars(select(OutboundMessage)).all()
    if consent == "1":  # agreed to an SMS: the receipt went by SMS, and only that
        assert [(m.channel, m.provider) for m in messages] == [("ussd", "africastalking")]
    else:
        assert messages == []


def test_a_session_cut_before_the_statement_keeps_nothing(gw: Gateway, phone: Phone) -> None:
    phone.dial()
    for value in ("1", "1", "1", "1", "1"):
        phone.press(value)
    with gw.sessions() as session:
        assert session.scalars(select(Conversation)).all() == []


@pytest.mark.parametrize(
    ("key", "form_change", "status"),
    [
        ("not-the-key", {}, 403),
        (None, {}, 403),
        (KEY, {"sessionId": ""}, 400),
        (KEY, {"phoneNumber": ""}, 400),
        (KEY, {"text": None}, 400),
        (KEY, {"text": "1*1*\x00"}, 400),
        (KEY, {"text": "1" * 40_000}, 413),
    ],
)
def test_a_bad_request_changes_nothing(
    gw: Gateway, client: Any, key: str | None, form_change: dict[str, Any], status: int
) -> None:
    form = {**recorded_request(), "text": "1*1*1*2*2*" + STATEMENT}
    for name, value in form_change.items():
        if value is None:
            form.pop(name)
        else:
            form[name] = value
    query = "" if key is None else f"?key={key}"
    answer = client.post(f"/ussd/africastalking{query}", data=form)
    assert answer.status_code == status
    with gw.sessions() as session:
        assert session.scalars(select(Conversation)).all() == []
    assert case_count(gw) == 0


def test_concurrent_copies_of_the_last_request_file_one_case(gw: Gateway, app: Any) -> None:
    form = {**recorded_request(), "text": "1*1*1*2*2*" + STATEMENT}
    first = app.test_client().post(f"/ussd/africastalking?key={KEY}", data=form)
    assert "1 Add more" in first.get_data(as_text=True)
    form["text"] += "*2"
    asked = app.test_client().post(f"/ussd/africastalking?key={KEY}", data=form)
    assert "who did it?" in asked.get_data(as_text=True)
    form["text"] += "*1"
    answers: list[str] = []

    def send() -> None:
        response = app.test_client().post(f"/ussd/africastalking?key={KEY}", data=form)
        answers.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert case_count(gw) == 1
    assert len(answers) == 6 and all(a.startswith("END ") for a in answers)
    assert len({a for a in answers if RECEIPT.search(a)}) == 1


def test_the_number_is_nowhere_in_clear(gw: Gateway, phone: Phone) -> None:
    report(phone, consent="1")
    digits = phone.number.lstrip("+")
    with gw.sessions() as session:
        for table in ("conversations", "cases", "inbound_events", "outbound_messages"):
            for row in session.execute(select(Case.__table__.metadata.tables[table])).all():
                assert digits not in repr(row)
    for key in gw.redis.keys("*"):
        assert digits.encode() not in key
        if gw.redis.type(key) == b"string":
            assert digits.encode() not in (gw.redis.get(key) or b"")
