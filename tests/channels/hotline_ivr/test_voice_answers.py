"""A caller answers a focal point's message by voice: keypad menu, recording, added to the case."""

from __future__ import annotations

from sqlalchemy import select

from gateway.cases.recorded_replies import VOICE_ANSWER
from gateway.core.models import Attachment, Case, CaseEvent, MediaDownload
from gateway.core.states import CaseEventKind, CaseStatus
from gateway.work.reporter import message_reporter
from tests.channels.hotline_ivr.phone import PUBLIC_BASE_URL
from tests.channels.hotline_ivr.test_calls import en, only_case, receipt_heard, report
from tests.channels.hotline_ivr.twilio_api import wav_bytes
from tests.support.jobs import run_jobs


def status_call(gw, twilio_api, phone, message: str | None = "Can you come on Monday?"):  # type: ignore[no-untyped-def]
    """A report filed by phone (its recording fetched), a focal point's message, a status call."""
    first = phone()
    report(first, twilio_api)
    number, pin = receipt_heard(first)
    run_jobs(gw)
    if message is not None:
        message_reporter(gw, only_case(gw).id, message, "focal")
    return phone().dial().press("1").press("2").press(number + "#").press(pin + "#")


def reporter_events(gw) -> list[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.kind == CaseEventKind.MESSAGE_FROM_REPORTER.value)
        ).all()
        return [gw.cipher.decrypt(e.body_enc).decode() for e in events]


def test_an_answer_recorded_after_a_message_is_added_to_the_case_and_fetched(
    gw, tracker, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    p = status_call(gw, twilio_api, phone)
    assert "Can you come on Monday?" in p.said() and en("answer_offer") in p.said()
    p.press("1")
    assert en("answer_intro") in p.said()
    audio = wav_bytes(0.8, tone=400)
    answer = twilio_api.new_recording(audio)
    p.speak(answer)
    assert en("answer_added") in p.said() and p.ended
    assert reporter_events(gw) == [VOICE_ANSWER]
    run_jobs(gw)
    with gw.sessions() as session:
        stored = [gw.cipher.decrypt(a.data_enc) for a in session.scalars(select(Attachment))]
        states = {d.state for d in session.scalars(select(MediaDownload))}
    assert audio in stored and len(stored) == 2, "the statement and the answer"
    assert states == {"done"}
    assert answer.rsplit("/", 1)[1] in twilio_api.deleted(), "Twilio's copy deleted once stored"


def test_an_answer_is_kept_when_the_caller_hangs_up_while_speaking(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = status_call(gw, twilio_api, phone).press("1")
    p.speak(twilio_api.new_recording(), end="hangup")
    assert reporter_events(gw) == [VOICE_ANSWER]


def test_silence_or_another_key_ends_the_call_and_adds_nothing(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = status_call(gw, twilio_api, phone).press("9")
    assert p.ended and en("goodbye") in p.said()
    p = status_call(gw, twilio_api, phone, message=None)
    assert en("answer_offer") not in p.said() and p.ended, "no message: nothing to answer"
    assert reporter_events(gw) == []


def test_nothing_recorded_is_asked_again_once(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = status_call(gw, twilio_api, phone).press("1")
    p.keep_silent()
    assert en("record_nothing") in p.said() and en("answer_intro") in p.said()
    p.keep_silent()
    assert p.ended and en("goodbye_no_answer") in p.said()
    assert reporter_events(gw) == []


def test_a_closed_case_offers_no_answer(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    first = phone()
    report(first, twilio_api)
    number, pin = receipt_heard(first)
    case_id = only_case(gw).id
    message_reporter(gw, case_id, "We close this case now.", "focal")
    with gw.sessions() as session, session.begin():
        session.get(Case, case_id).status = CaseStatus.CLOSED.value
    p = phone().dial().press("1").press("2").press(number + "#").press(pin + "#")
    assert "We close this case now." in p.said() and en("answer_offer") not in p.said()
    assert p.ended


def test_the_answer_step_of_another_call_adds_nothing(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    """The case travels sealed with its call's CallSid: another call cannot reuse the URL."""
    p = status_call(gw, twilio_api, phone).press("1")
    action = p.waiting.get("action", "")
    assert action.startswith(f"{PUBLIC_BASE_URL}/ivr/twilio/answered?")
    stranger = phone()
    response = stranger._signed_post(
        action,
        {"RecordingUrl": twilio_api.new_recording(), "RecordingSid": "RE" + "1" * 32},
    )
    assert response.status_code == 200 and en("try_later").encode() in response.data
    assert reporter_events(gw) == []


def test_the_same_answer_request_twice_adds_it_once(gw, twilio_api, phone) -> None:  # type: ignore[no-untyped-def]
    p = status_call(gw, twilio_api, phone).press("1")
    action = p.waiting.get("action", "")
    url = twilio_api.new_recording()
    params = {"RecordingUrl": url, "RecordingSid": url.rsplit("/", 1)[1], "Digits": "#"}
    for _ in range(2):
        response = p._signed_post(action, params)
        assert response.status_code == 200 and en("answer_added").encode() in response.data
    assert reporter_events(gw) == [VOICE_ANSWER]
