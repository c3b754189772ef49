"""Whole calls to the hotline, walked the way Twilio walks the gateway's TwiML."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.hotline_ivr import calls, prompts
from gateway.cases import numbering
from gateway.core.models import Case, MediaDownload
from gateway.work.reporter import message_reporter
from tests.channels.hotline_ivr.conftest import LOCALES
from tests.channels.hotline_ivr.phone import Phone

ENGLISH_VOICE = prompts.TTS_VOICES["en"][0]


def en(prompt_id: str) -> str:
    return prompts.PROMPTS[prompt_id]


def only_case(gw) -> Case:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalars(select(Case)).one()


def report(
    p: Phone,
    twilio_api,
    language: str = "1",
    category: str = "2",
    danger: str = "2",
    who: str = "0",
) -> str:  # type: ignore[no-untyped-def]
    """Dial, choose, speak, keep, who did it (not asked when someone is in danger):
    the RecordingUrl of the statement kept."""
    p.dial().press(language).press("1").press(category).press(danger)
    url = twilio_api.new_recording()
    p.speak(url).press("1")
    if danger != "1":
        p.press(who)
    return url


def receipt_heard(p: Phone) -> tuple[str, str]:
    """The case number and PIN the caller heard (read twice, identical both times)."""
    digits = p.digits_heard()
    half = len(digits) // 2
    assert digits[:half] == digits[half:], "case number and PIN are read twice"
    once = digits[:half]
    return once[: -numbering.PIN_LENGTH], once[-numbering.PIN_LENGTH :]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_report_call_in_each_language(gw, tracker, twilio_api, phone, locale) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial()
    assert p.gather.get("numDigits") == "1"
    assert p.digits_heard() == "1234"  # one option per configured locale, 1 for the first
    p.press(str(LOCALES.index(locale) + 1))
    chosen = len(p.all_heard) - len(p.heard)  # from here on, all in the chosen language
    assert p.gather.get("action", "").endswith(f"/ivr/twilio/menu?l={locale}")
    p.press("1").press("1").press("1")  # report; sex for money, food or help; someone in danger
    record = p.waiting
    assert record is not None and record.tag == "Record"
    assert (record.get("maxLength"), record.get("finishOnKey")) == ("180", "#")
    p.speak(twilio_api.new_recording()).press("1")
    number, pin = receipt_heard(p)
    case = only_case(gw)
    assert (case.channel, case.language, case.category) == ("voice", locale, "sexual_exploitation")
    assert case.danger_now is True and case.provider == "twilio-voice"
    assert number == case.case_number and numbering.verify_pin(case.pin_hash, pin)
    spoken = {h.language for h in p.all_heard[chosen:] if h.kind == "say"}
    assert spoken <= {ENGLISH_VOICE, *(v[0] for k, v in prompts.TTS_VOICES.items() if k == locale)}
    # Digits are read slowly: a pause after every one of them.
    kinds = [h.kind for h in p.heard]
    digit_positions = [i for i, h in enumerate(p.heard) if h.kind == "say" and h.value.isdigit()]
    assert all(kinds[i + 1] == "pause" for i in digit_positions)


def test_the_language_menu_names_each_language_in_itself(gw, phone, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    french = {en("language_option"): "Pour le français, appuyez sur"}
    real = prompts.i18n.gettext
    monkeypatch.setattr(
        prompts.i18n,
        "gettext",
        lambda loc, msg, **kw: french.get(msg, msg) if loc == "fr" else real(loc, msg, **kw),
    )
    p = phone().dial()
    options = [(h.value, h.language) for h in p.heard if h.kind == "say"]
    assert ("Pour le français, appuyez sur", "fr-FR") in options
    assert ("2", "fr-FR") in options  # the digit in the language's own voice
    assert ("For Kiswahili, press", ENGLISH_VOICE) in options  # no Swahili voice at Twilio


def test_checking_a_report_reads_the_status_and_the_focal_points_message(
    gw, tracker, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    first = phone()
    report(first, twilio_api)
    number, pin = receipt_heard(first)
    case = only_case(gw)
    message_reporter(gw, case.id, "Please come to the clinic on Monday.", "focal")
    p = phone().dial().press("1").press("2")
    assert p.gather.get("finishOnKey") == "#"
    p.press(number + "#")
    assert en("enter_pin") in p.said()
    p.press(pin + "#")
    said = p.said()
    assert en("status_received") in said
    assert en("message_for_you") in said and "Please come to the clinic on Monday." in said
    assert en("answer_offer") in said, "1 records an answer (test_voice_answers.py)"
    p.keep_silent()
    assert p.ended and en("goodbye") in p.said()


def test_a_wrong_pin_and_a_locked_number_get_the_web_pages_answers(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    first = phone()
    report(first, twilio_api)
    number, pin = receipt_heard(first)
    wrong = "000000" if pin != "000000" else "111111"
    answers = []
    for _ in range(6):
        p = phone().dial().press("1").press("2").press(number + "#").press(wrong + "#")
        answers.append(p.said())
    assert all(en("status_wrong") in said for said in answers[:5])
    assert en("status_locked") in answers[5]
    unknown = phone().dial().press("1").press("2").press("20260000000#").press(pin + "#")
    assert en("status_wrong") in unknown.said() and unknown.ended


def act(p: Phone, twilio_api, step: str) -> None:  # type: ignore[no-untyped-def]
    if step == "silence":
        p.keep_silent()
    elif step == "speak":
        p.speak(twilio_api.new_recording())
    else:
        p.press(step)


# (label, what the caller does, what they hear last, a case is filed)
SILENCES = [
    ("language menu, silent twice", ["silence", "silence"], "goodbye_no_answer", False),
    ("language menu, wrong keys", ["9", "0"], "goodbye_no_answer", False),
    ("language menu, wrong then right", ["9", "1", "3"], "main_menu", False),
    ("main menu, silent twice", ["1", "silence", "silence"], "goodbye_no_answer", False),
    ("main menu, wrong keys", ["1", "8", "#"], "goodbye_no_answer", False),
    (
        "category skipped after silence",
        ["1", "1", "silence", "silence", "2"],
        "record_intro",
        False,
    ),
    ("danger skipped after wrong keys", ["1", "1", "3", "7", "7"], "record_intro", False),
    (
        "nothing recorded twice",
        ["1", "1", "3", "2", "silence", "silence"],
        "goodbye_no_answer",
        False,
    ),
    (
        "statement kept after silence",
        ["1", "1", "3", "2", "speak", "silence", "silence", "0"],
        "keep_secret",
        True,
    ),
    (
        "who did it skipped after silence",
        ["1", "1", "3", "2", "speak", "1", "silence", "silence"],
        "keep_secret",
        True,
    ),
    (
        "who did it skipped after wrong keys",
        ["1", "1", "3", "2", "speak", "1", "8", "#"],
        "keep_secret",
        True,
    ),
    (
        "receipt menu, silent twice",
        ["1", "1", "3", "2", "speak", "1", "0", "silence", "silence"],
        "goodbye",
        True,
    ),
    ("case number, silent twice", ["1", "2", "silence", "silence"], "goodbye_no_answer", False),
    ("PIN, silent twice", ["1", "2", "12345#", "silence", "silence"], "goodbye_no_answer", False),
]


@pytest.mark.parametrize(
    ("label", "steps", "last", "filed"), SILENCES, ids=[s[0] for s in SILENCES]
)
def test_silence_and_wrong_keys_are_asked_again_once(
    gw, twilio_api, phone, label, steps, last, filed
) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial()
    for step in steps:
        act(p, twilio_api, step)
    everything = [h.value for h in p.all_heard]
    assert en("not_understood") in everything or en("record_nothing") in everything
    assert en(last) in p.said()
    assert p.ended == last.startswith("goodbye")
    with gw.sessions() as session:
        assert len(session.scalars(select(Case)).all()) == (1 if filed else 0)


def test_skipped_questions_file_a_report_without_those_answers(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").keep_silent().keep_silent().press("9").press("9")
    p.speak(twilio_api.new_recording()).press("1").keep_silent().press("7")
    case = only_case(gw)
    assert case.category is None and case.danger_now is False
    assert case.personnel_category is None


def test_saying_it_again_replaces_the_statement_and_deletes_the_first(
    gw, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    from tests.support.jobs import run_jobs

    p = phone().dial().press("1").press("1").press("3").press("2")
    first = twilio_api.new_recording()
    p.speak(first).press("2")
    assert p.waiting is not None and p.waiting.tag == "Record"
    second = twilio_api.new_recording()
    p.speak(second).press("1").press("4")
    case = only_case(gw)
    assert case.personnel_category == "other"
    with gw.sessions() as session:
        [download] = session.scalars(select(MediaDownload)).all()
        assert gw.cipher.decrypt(download.url_enc).decode() == second
    run_jobs(gw)
    assert set(twilio_api.deleted()) == {first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]}
    assert case.case_number in receipt_heard(p)[0]


def test_the_caller_can_hear_the_number_again(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone()
    report(p, twilio_api)
    number, pin = receipt_heard(p)
    assert en("hear_again") in p.said() and en("connect_offer") not in p.said()
    p.press("1")
    assert receipt_heard(p) == (number, pin)
    p.press("1")
    assert receipt_heard(p) == (number, pin)
    assert "k=" in p.gather.get("action", "") and pin not in p.gather.get("action", "")


@pytest.mark.parametrize(
    ("keys", "personnel"),
    [
        (["1"], "military"),
        (["2"], "police"),
        (["3"], "civilian_staff"),
        (["4"], "other"),
        (["0"], "unknown"),  # "not sure"
        (["9", "2"], "police"),  # a wrong key: asked again once
        (["silence", "3"], "civilian_staff"),
        (["*", "#"], None),  # wrong twice: filed without it
    ],
)
def test_who_did_it_is_asked_after_the_statement_and_reaches_the_case(
    gw, twilio_api, phone, keys, personnel
) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("3").press("2")
    p.speak(twilio_api.new_recording()).press("1")
    assert en("who") in p.said()
    for key in keys:
        act(p, twilio_api, key)
    case = only_case(gw)
    assert (case.personnel_category, case.category, case.victim_age_group) == (
        personnel,
        "other_misconduct",
        None,
    )
    assert receipt_heard(p)[0] == case.case_number
    assert "w=" not in p.gather.get("action", "")  # not carried in URLs once filed


def test_someone_in_danger_is_not_asked_who_did_it(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone()
    report(p, twilio_api, danger="1")
    assert en("who") not in [h.value for h in p.all_heard]
    assert only_case(gw).personnel_category is None


def test_hanging_up_when_asked_who_did_it_files_the_statement(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("1").press("2")
    p.speak(twilio_api.new_recording()).press("1")
    assert en("who") in p.said()
    assert p.hang_up() == 200
    case = only_case(gw)
    assert case.category == "sexual_exploitation" and case.personnel_category is None


def test_hanging_up_while_asked_to_keep_the_statement_files_it(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("2").press("1")
    url = twilio_api.new_recording()
    p.speak(url)
    assert en("confirm") in p.said()
    assert p.hang_up() == 200
    case = only_case(gw)
    assert case.category == "sexual_abuse" and case.danger_now is True
    assert not list(gw.redis.scan_iter(calls.PENDING_KEY + "*"))
    assert p.status_callback({"CallStatus": "completed"}) == 200
    with gw.sessions() as session:
        assert (
            len(session.scalars(select(Case)).all()) == 1
        )  # a repeated callback files nothing more


def test_hanging_up_while_speaking_files_what_was_said(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("3").press("1")
    p.speak(twilio_api.new_recording(), end="hangup")
    assert only_case(gw).category == "other_misconduct"
    p.hang_up()
    with gw.sessions() as session:
        assert len(session.scalars(select(Case)).all()) == 1


def test_hanging_up_before_speaking_files_nothing(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("1").press("3")
    assert p.hang_up() == 200
    with gw.sessions() as session:
        assert session.scalars(select(Case)).all() == []


def test_how_reports_are_handled_then_back_to_the_menu(gw, phone) -> None:  # type: ignore[no-untyped-def]
    p = phone().dial().press("1").press("3")
    assert en("how_handled") in p.said() and en("main_menu") in p.said()
    assert p.gather.get("action", "").endswith("/ivr/twilio/menu?l=en")


def test_without_a_help_directory_the_menus_are_as_in_the_contract(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    """No ASSISTANCE_FILE: no "help now" anywhere, and its keys are not choices."""
    p = phone().dial().press("1")
    assert p.said()[-1] == en("main_menu")
    p.press("4")
    assert en("not_understood") in p.said() and p.said()[-1] == en("main_menu")
    p = phone()
    report(p, twilio_api, danger="1")
    assert en("help_care") not in [h.value for h in p.all_heard]
    assert p.said()[-1] == en("hear_again")
    p.press("3")
    assert en("not_understood") in p.said() and p.said()[-1] == en("hear_again")
