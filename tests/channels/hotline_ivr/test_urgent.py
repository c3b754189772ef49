"""Someone in danger now: the case is urgent, and in staffed hours the caller may be connected."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from channels.hotline_ivr import urgent
from gateway.core.config import ConfigError, Settings
from gateway.core.models import Case
from tests.channels.hotline_ivr.phone import HOTLINE
from tests.channels.hotline_ivr.test_calls import en, receipt_heard, report

STAFFED = "+243810001111"
WEDNESDAY_10_KINSHASA = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # UTC+1
SATURDAY_10_KINSHASA = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
WEDNESDAY_19_KINSHASA = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "IVR_URGENT_DIAL_NUMBER": STAFFED,
        "IVR_URGENT_HOURS": "Mon-Fri 08:00-18:00",
        "IVR_TIMEZONE": "Africa/Kinshasa",
    }


def at(monkeypatch, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(urgent, "clock", lambda: moment)


@pytest.mark.parametrize("outcome", ["completed", "no-answer"])
def test_in_staffed_hours_the_caller_is_offered_a_person_after_the_receipt(
    gw, twilio_api, phone, monkeypatch, outcome
) -> None:  # type: ignore[no-untyped-def]
    at(monkeypatch, WEDNESDAY_10_KINSHASA)
    p = phone()
    report(p, twilio_api, danger="1")
    number, pin = receipt_heard(p)  # the number and PIN come first
    said = p.said()
    assert said.index(en("urgent_noted")) < said.index(en("connect_offer"))
    p.press("2")
    assert en("connecting") in p.said()
    dial = p.waiting
    assert dial is not None and dial.tag == "Dial"
    assert dial.findtext("Number") == STAFFED
    assert dial.get("callerId") == HOTLINE  # the staffed phone never sees the reporter's number
    p.dial_ends(outcome)
    assert p.ended and en("goodbye") in p.said()
    assert (en("connect_failed") in p.said()) == (outcome != "completed")
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.danger_now is True and case.case_number == number


@pytest.mark.parametrize("moment", [SATURDAY_10_KINSHASA, WEDNESDAY_19_KINSHASA])
def test_outside_staffed_hours_there_is_no_offer(
    gw, twilio_api, phone, monkeypatch, moment
) -> None:  # type: ignore[no-untyped-def]
    at(monkeypatch, moment)
    p = phone()
    report(p, twilio_api, danger="1")
    assert en("urgent_noted") in p.said() and en("connect_offer") not in p.said()
    p.press("2")  # not a choice now
    assert en("not_understood") in p.said() and p.waiting is not None
    assert p.waiting.tag == "Gather"


def test_no_offer_when_nobody_is_in_danger(gw, twilio_api, phone, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    at(monkeypatch, WEDNESDAY_10_KINSHASA)
    p = phone()
    report(p, twilio_api, danger="2")
    assert en("urgent_noted") not in p.said() and en("connect_offer") not in p.said()


HOURS = [
    ("Mon-Fri 08:00-18:00", datetime(2026, 11, 23, 8, 0), True),  # Monday, opening minute
    ("Mon-Fri 08:00-18:00", datetime(2026, 11, 27, 17, 59), True),
    ("Mon-Fri 08:00-18:00", datetime(2026, 11, 27, 18, 0), False),  # closing minute
    ("Mon-Fri 08:00-18:00", datetime(2026, 11, 29, 12, 0), False),  # Sunday
    ("Mon-Fri 08:00-18:00; Sat 09:00-13:00", datetime(2026, 11, 28, 10, 0), True),
    ("Fri-Mon 00:00-24:00", datetime(2026, 11, 29, 23, 59), True),  # a range over the week end
    ("Fri-Mon 00:00-24:00", datetime(2026, 11, 25, 12, 0), False),
    ("mon,wed 10:00-11:00", datetime(2026, 11, 25, 10, 30), True),
]


@pytest.mark.parametrize(("spec", "local", "open_"), HOURS)
def test_staffed_hours_are_read_as_written(spec, local, open_) -> None:  # type: ignore[no-untyped-def]
    assert any(w.contains(local) for w in urgent.parse_hours(spec)) is open_


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IVR_URGENT_HOURS", "weekdays 8-18"),
        ("IVR_URGENT_HOURS", "Mon-Fry 08:00-18:00"),
        ("IVR_URGENT_HOURS", "Mon 25:00-26:00"),
        ("IVR_TIMEZONE", "Mars/Olympus"),
    ],
)
def test_unreadable_hours_stop_start_up_with_one_line(gw, tmp_path, env, name, value) -> None:  # type: ignore[no-untyped-def]
    from gateway.app import create_app

    settings = Settings.from_mapping({**env, name: value}, tmp_path)
    with pytest.raises(ConfigError, match=name) as error:
        create_app(gateway=dataclasses.replace(gw, settings=settings))
    assert "\n" not in str(error.value)
