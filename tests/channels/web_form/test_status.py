"""`/status`: number and PIN, the status in plain words, messages both ways, lock-out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from channels.web_form import guard
from gateway.cases import mailbox
from gateway.cases.filing import set_status
from gateway.cases.lookup import MAX_ATTEMPTS_PER_CLIENT, MAX_FAILURES_PER_NUMBER
from gateway.core.models import Case
from gateway.core.states import CaseStatus
from gateway.work.reporter import message_reporter
from tests.channels.web_form.conftest import count_rows, receipt_of, send_report, set_raw
from tests.channels.web_form.nojs import forms, main_form


@pytest.fixture
def filed(gw, browser) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    """A report sent through the form: (case number, PIN, case id)."""
    number, pin = receipt_of(
        send_report(browser, narrative="the report text").get_data(as_text=True)
    )
    with gw.sessions() as session:
        case_id = session.scalars(select(Case.id)).one()
    return number, pin, case_id


def look_up(browser, number: str, pin: str):  # type: ignore[no-untyped-def]
    form = main_form(browser.get("/status").get_data(as_text=True)).fill(number=number, pin=pin)
    return browser.submit(form)


def test_status_messages_and_reply_round_trip(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, pin, case_id = filed
    assert message_reporter(gw, case_id, "Can you tell us which day it was?", "focal")
    page = look_up(browser, number, pin).get_data(as_text=True)
    assert "Received" in page and number in page
    assert "From the team" in page
    # its own direction: an English message reads right inside an Arabic page
    assert '<div dir="auto">Can you tell us which day it was?</div>' in page
    assert "the report text" not in page  # a shared phone never shows the report

    form = main_form(page).fill(text="It was on Monday, at night.")
    answer = browser.submit(form)
    assert answer.status_code == 200
    assert "Your message was sent" in answer.get_data(as_text=True)
    view = mailbox.view_case(gw, case_id)
    assert [(m.direction, m.text) for m in view.messages] == [
        ("in", "Can you tell us which day it was?"),
        ("out", "It was on Monday, at night."),
    ]


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (CaseStatus.UNDER_REVIEW, "Being looked at"),
        (CaseStatus.IN_PROGRESS, "In progress"),
        (CaseStatus.REFERRED, "Passed to a service that can help"),
        (CaseStatus.CLOSED, "Closed"),
    ],
)
def test_each_status_is_shown_in_plain_words(gw, browser, filed, status, shown) -> None:  # type: ignore[no-untyped-def]
    number, pin, case_id = filed
    with gw.sessions() as session, session.begin():
        set_status(session, gw, session.get(Case, case_id), status, "focal")
    page = look_up(browser, number, pin).get_data(as_text=True)
    assert f"<h2>{shown}</h2>" in page
    assert ('name="text"' in page) is (status is not CaseStatus.CLOSED)


def test_wrong_pin_and_unknown_number_give_the_same_page(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    wrong_pin = f"{(int(pin) + 1) % 1_000_000:06d}"
    unknown = "2020-000777-0"

    def page(typed: str) -> tuple[int, str]:
        response = look_up(browser, typed, wrong_pin)
        body = response.get_data(as_text=True).replace(typed, "NUMBER")
        return response.status_code, re.sub(r'name="token" value="[^"]+"', "", body)

    assert page(number) == page(unknown)
    assert "could not open a report" in page(number)[1]


def test_repeated_wrong_pins_lock_the_number_like_an_unknown_one(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    answers = {}
    for typed in (number, "2020-000777-0"):
        codes = [look_up(browser, typed, wrong).status_code for _ in range(MAX_FAILURES_PER_NUMBER)]
        locked = look_up(browser, typed, pin)  # even the right PIN now waits
        answers[typed] = (
            codes,
            locked.status_code,
            "Too many tries" in locked.get_data(as_text=True),
        )
    assert (
        answers[number] == answers["2020-000777-0"] == ([200] * MAX_FAILURES_PER_NUMBER, 429, True)
    )


def test_reply_after_the_page_expired_asks_again_and_keeps_the_text(
    gw, browser, filed, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    number, pin, case_id = filed
    form = main_form(look_up(browser, number, pin).get_data(as_text=True)).fill(text="More details")
    monkeypatch.setattr(guard, "CASE_TOKEN_MAX_AGE", -1)
    again = browser.submit(form)
    assert again.status_code == 400 and "15 minutes" in again.get_data(as_text=True)
    monkeypatch.undo()
    asked = main_form(again.get_data(as_text=True))
    assert asked.get("draft") == "More details"
    page = browser.submit(asked.fill(number=number, pin=pin)).get_data(as_text=True)
    assert ">More details</textarea>" in page  # the reply box holds what was typed
    assert mailbox.view_case(gw, case_id).messages == ()


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda f: f.fill(case=f.get("case")[:-3] + "abc"), 400),
        (lambda f: f.fill(text="  "), 400),
    ],
    ids=["forged case token", "empty message"],
)
def test_bad_replies_store_nothing(gw, browser, filed, change, status) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    form = main_form(look_up(browser, number, pin).get_data(as_text=True)).fill(text="hello")
    change(form)
    before = count_rows(gw)
    assert browser.submit(form).status_code == status
    assert count_rows(gw) == before


def test_a_case_token_cannot_be_used_as_a_form_token(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    found = main_form(look_up(browser, number, pin).get_data(as_text=True))
    status_form = main_form(browser.get("/status").get_data(as_text=True))
    status_form.fill(token=found.get("case"), number=number, pin=pin)  # salts differ per form
    assert browser.submit(status_form).status_code == 400


def test_missing_number_or_pin_is_asked_again_without_a_look_up(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, _, _ = filed
    before = count_rows(gw)
    response = look_up(browser, number, "")
    assert response.status_code == 400 and "Please type" in response.get_data(as_text=True)
    assert count_rows(gw) == before  # no failure counted against the number


def test_changing_language_on_the_status_page_keeps_the_case_open(gw, browser, filed) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    page = look_up(browser, number, pin).get_data(as_text=True)
    [language_form] = [f for f in forms(page) if "case" in f.names() and "text" not in f.names()]
    switched = browser.submit(language_form, press=("lang", "fr"))
    assert switched.status_code == 200
    html = switched.get_data(as_text=True)
    assert '<html lang="fr"' in html and number in html


@pytest.mark.parametrize(("behind_tor", "last"), [("0", 429), ("1", 200)])
def test_behind_tor_no_client_bucket_locks_everyone_out(gw, browser, behind_tor, last) -> None:  # type: ignore[no-untyped-def]
    """Onion visitors all arrive from the tor daemon: only the per-number lock applies."""
    set_raw(gw, GATEWAY_WEB_BEHIND_TOR=behind_tor)
    codes = [
        look_up(browser, f"2020-{i:06d}-0", "123456").status_code
        for i in range(MAX_ATTEMPTS_PER_CLIENT + 1)
    ]
    assert codes[:MAX_ATTEMPTS_PER_CLIENT] == [200] * MAX_ATTEMPTS_PER_CLIENT
    assert codes[-1] == last


@pytest.mark.parametrize("broken", ["check_status", "view_case", "reply"])
def test_a_failure_behind_the_status_page_is_never_a_500(
    gw, browser, filed, monkeypatch, broken
) -> None:  # type: ignore[no-untyped-def]
    number, pin, _ = filed
    page = look_up(browser, number, pin).get_data(as_text=True)

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(mailbox, broken, down)
    if broken == "check_status":
        response = look_up(browser, number, pin)
    else:
        response = browser.submit(main_form(page).fill(text="A detail"))
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert 'class="e"' in html and "database unreachable" not in html
