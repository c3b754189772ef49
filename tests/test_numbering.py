"""Case numbers (Damm check digit, parsing, gap-free allocation) and PINs."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from gateway.cases.numbering import (
    CaseNumber,
    allocate_case_number,
    damm_digit,
    hash_pin,
    new_pin,
    parse_case_number,
    verify_pin,
)
from gateway.core.models import CaseNumberCounter


@pytest.mark.parametrize(
    ("digits", "check"),
    [("572", 4), ("0", 0), ("5724", 0), ("112946", 0), ("2026000123", damm_digit("2026000123"))],
)
def test_damm_reference_values(digits: str, check: int) -> None:
    assert damm_digit(digits) == check


def test_every_single_digit_error_and_adjacent_swap_is_caught() -> None:
    number = CaseNumber(2026, 123).digits
    for i, ch in enumerate(number):
        for other in "0123456789":
            if other != ch:
                typo = number[:i] + other + number[i + 1 :]
                assert parse_case_number(typo) is None, typo
    for i in range(len(number) - 1):
        if number[i] != number[i + 1]:
            swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            assert parse_case_number(swapped) is None, swapped


@pytest.mark.parametrize(
    "typed",
    [
        "{d}",
        "{y}-{s}-{c}",
        "{y} {s} {c}",
        "{y}.{s}.{c}",
        "  {y}/{s}/{c} ",
        "MINUSCA-{y}-{s}-{c}",
        "minusca {y}{s}{c}",
        "#{y}-{s}-{c}#",
    ],
)
def test_parse_accepts_separators_and_prefix(typed: str) -> None:
    number = CaseNumber(2026, 123)
    d = number.digits
    text = typed.format(d=d, y=d[:4], s=d[4:-1], c=d[-1])
    assert (
        parse_case_number(text, prefix="MINUSCA-") == number
        or parse_case_number(text, prefix="MINUSCA") == number
    )


@pytest.mark.parametrize(
    "bad", ["", "abc", "2026-000123", "2026-12-1", "2026-000123-4-5-6-7-8-9-0", "2026-000123-x"]
)
def test_parse_rejects_garbage(bad: str) -> None:
    assert parse_case_number(bad) is None


def test_display_form() -> None:
    number = CaseNumber(2026, 123)
    assert number.display() == f"2026-000123-{number.digits[-1]}"
    assert CaseNumber(2026, 1234567).display().startswith("2026-1234567-")
    assert parse_case_number(CaseNumber(2026, 1234567).display()) == CaseNumber(2026, 1234567)


def test_pin_is_six_digits_and_hash_is_slow_salted() -> None:
    pin = new_pin()
    assert len(pin) == 6 and pin.isdigit()
    first, second = hash_pin(pin), hash_pin(pin)
    assert first != second and first.startswith("$argon2id$")
    assert verify_pin(first, pin)
    assert verify_pin(first, f"{pin[:3]} {pin[3:]}")
    assert not verify_pin(first, "000000" if pin != "000000" else "111111")
    assert not verify_pin("not a hash", pin)


def test_allocation_is_sequential_per_year(gw) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        numbers = [allocate_case_number(session, 2026).sequence for _ in range(3)]
        other = allocate_case_number(session, 2027).sequence
    assert numbers == [1, 2, 3] and other == 1


def test_rolled_back_allocation_leaves_no_gap(gw) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        allocate_case_number(session, 2026)
    with gw.sessions() as session:
        session.begin()
        allocate_case_number(session, 2026)
        session.rollback()
    with gw.sessions() as session, session.begin():
        assert allocate_case_number(session, 2026).sequence == 2


def test_concurrent_allocation_unique_and_gap_free(gw) -> None:  # type: ignore[no-untyped-def]
    """Threads with their own connections allocate at once; some roll back."""
    taken: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def allocate(worker: int) -> None:
        try:
            for i in range(15):
                with gw.sessions() as session:
                    session.begin()
                    seq = allocate_case_number(session, 2031).sequence
                    if (worker + i) % 4 == 0:
                        session.rollback()
                        continue
                    session.commit()
                with lock:
                    taken.append(seq)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=allocate, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(taken) == list(range(1, len(taken) + 1))
    with gw.sessions() as session:
        last = session.scalar(
            select(CaseNumberCounter.last_value).where(CaseNumberCounter.year == 2031)
        )
    assert last == len(taken)


def test_pin_is_hashed_before_the_year_counter_is_locked(gw, backend, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The counter row stays locked until commit; a slow hash inside the lock serialises filing."""
    if not backend[0].startswith("postgresql"):
        pytest.skip("SQLite locks the whole database for any write transaction")
    from sqlalchemy import text

    from gateway.cases import numbering
    from gateway.cases.reports import NewReport
    from gateway.work.reporter import submit_report

    submit_report(gw, NewReport(narrative="first", language="en"), channel="web")
    probes: list[bool] = []
    real_hash = numbering.hash_pin

    def probing_hash(pin: str) -> str:
        with gw.engine.connect() as conn, conn.begin():
            conn.execute(text("SET LOCAL lock_timeout = '200ms'"))
            try:
                conn.execute(select(CaseNumberCounter).with_for_update())
                probes.append(False)
            except Exception:  # noqa: BLE001 - lock_timeout: another transaction holds it
                probes.append(True)
        return real_hash(pin)

    monkeypatch.setattr(numbering, "hash_pin", probing_hash)
    submit_report(gw, NewReport(narrative="second", language="en"), channel="web")
    assert probes == [False], "the counter row was locked while the PIN was hashed"
