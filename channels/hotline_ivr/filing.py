"""Filing the statement at once, reading the receipt, and what happens after the call.

The report goes through gateway.work.reporter.submit_report with the recording
as media still at Twilio: the worker fetches it and forwarding waits for
it (recordings.py). The case number and PIN are read digit by digit,
slowly, twice; 1 reads them again, and when someone is in danger and the
staffed line is open, 2 connects the caller (`<Dial>`,
https://www.twilio.com/docs/voice/twiml/dial); with a help services
directory, 3 reads the help line (helpline.py). Call and recording status
callbacks (https://www.twilio.com/docs/voice/api/call-resource#statuscallback)
file a statement whose caller hung up before keeping it, and plan the
deletion of the call's record at Twilio.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from twilio.twiml.voice_response import VoiceResponse

from gateway.cases.filing import Receipt
from gateway.cases.reports import Category, NewReport
from gateway.core.runtime import Gateway
from gateway.work.reporter import submit_report

from . import calls, helpline, recordings, urgent
from .calls import CallState
from .steps import Call, again, ask, goodbye, say_goodbye

log = logging.getLogger(__name__)

DIAL_TIMEOUT = 30
FILING_ATTEMPTS = 3
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
CATEGORIES = {
    "1": Category.SEXUAL_EXPLOITATION,
    "2": Category.SEXUAL_ABUSE,
    "3": Category.OTHER_MISCONDUCT,
}
DANGER = {"1": True, "2": False}


def submit(gw: Gateway, state: CallState) -> Receipt:
    """File the report now; the worker fetches the recording and forwarding waits for it."""
    report = NewReport(
        narrative="",
        language=state.lang,
        category=CATEGORIES.get(state.category),
        danger_now=DANGER.get(state.danger),
        allegation={"personnel_category": state.personnel} if state.personnel else {},
    )
    return submit_report(
        gw,
        report,
        channel="voice",
        provider=recordings.PROVIDER,
        media=[(recordings.PROVIDER, state.recording, recordings.CONTENT_TYPE_HINT)],
    )


def file_quietly(gw: Gateway, state: CallState) -> bool:
    """File a statement whose caller has gone (no one to read the receipt to)."""
    if not state.recording or not calls.claim_filing(gw, state.recording):
        return False
    try:
        receipt = submit(gw, state)
    except Exception as exc:  # noqa: BLE001 - logged by type only; Twilio keeps the recording
        calls.release_filing(gw, state.recording)
        log.error("ivr: statement of a finished call not filed: %s", type(exc).__name__)
        return False
    log.info("ivr: case %s filed after the caller hung up", receipt.case_id)
    return True


def file_and_read(call: Call) -> VoiceResponse:
    r = VoiceResponse()
    state = call.state
    if not state.recording:
        return goodbye(call, r, "goodbye_no_answer")
    if not calls.claim_filing(call.gw, state.recording):  # already filed (call status callback)
        call.speaker.prompt(r, "filed")
        return goodbye(call, r)
    try:
        receipt = submit(call.gw, state)
    except Exception as exc:  # noqa: BLE001
        calls.release_filing(call.gw, state.recording)
        log.error("ivr: filing failed (attempt %s): %s", state.attempt + 1, type(exc).__name__)
        if state.attempt + 1 < FILING_ATTEMPTS:
            call.speaker.prompt(r, "please_hold")
            r.pause(length=2)
            r.redirect(call.url("file", state.but(attempt=state.attempt + 1)), method="POST")
            return r
        return goodbye(call, r, "not_saved")  # the note lets the status callback try again
    calls.forget_statement(call.gw, call.sid)
    log.info("ivr: case %s filed", receipt.case_id)
    sealed = calls.seal_receipt(call.gw, receipt.case_number, receipt.pin)
    after = call.but(receipt=sealed, recording="", category="", personnel="", tries=0, attempt=0)
    call.speaker.prompt(r, "filed")
    if state.danger == "1":
        call.speaker.prompt(r, "urgent_noted")
    read_receipt(after, r, receipt.case_number, receipt.pin)
    receipt_menu(after, r)
    return r


def read_receipt(call: Call, r: VoiceResponse, case_number: str, pin: str) -> None:
    """Case number and PIN, digit by digit with pauses, twice."""
    speaker = call.speaker
    for _ in range(2):
        r.pause(length=1)
        speaker.prompt(r, "case_number_is")
        r.pause(length=1)
        speaker.digits(r, case_number)
        speaker.prompt(r, "pin_is")
        r.pause(length=1)
        speaker.digits(r, pin)
    speaker.prompt(r, "keep_secret")


def connect_number(call: Call) -> tuple[str, str] | None:
    """(staffed number, caller id) when the caller may be connected now."""
    if call.state.danger != "1":
        return None
    number = urgent.dial_number(call.gw.settings)
    caller_id = call.gw.settings.get("IVR_CALLER_ID") or call.params.get("To", "")
    return (number, caller_id) if number and caller_id else None


def receipt_menu(call: Call, r: VoiceResponse) -> None:
    prompts = ["hear_again"]
    if connect_number(call):
        prompts.append("connect_offer")
    if helpline.service(call.gw) is not None:
        prompts.append("help_offer")
    ask(call, r, "receipt", prompts)


def on_receipt(call: Call) -> VoiceResponse:
    opened = calls.open_receipt(call.gw, call.state.receipt)
    if opened is None:
        return goodbye(call, VoiceResponse())
    r = VoiceResponse()
    connect = connect_number(call)
    if call.digits == "1":
        read_receipt(call, r, *opened)
        receipt_menu(call.but(tries=0), r)
        return r
    if call.digits == "2" and connect:
        call.speaker.prompt(r, "connecting")
        dial = r.dial(caller_id=connect[1], action=call.url("dialed"), timeout=DIAL_TIMEOUT)
        dial.number(connect[0])
        return r
    if call.digits == helpline.RECEIPT_KEY and (found := helpline.service(call.gw)):
        helpline.help_screen(call, r, found)
        return r
    return again(call, receipt_menu, give_up=say_goodbye)


def on_dialed(call: Call) -> VoiceResponse:
    r = VoiceResponse()
    if call.params.get("DialCallStatus") != "completed":
        call.speaker.prompt(r, "connect_failed")
        call.speaker.prompt(r, "urgent_noted")
    return goodbye(call, r)


def on_call_status(gw: Gateway, params: Mapping[str, str]) -> None:
    """Call and recording status callbacks: file a statement left behind, forget the call.

    A call that ended while the caller was asked whether to keep their
    statement leaves a note (calls.remember_statement): the statement is
    filed now. Every ended call's record at Twilio is planned for deletion.
    A recording Twilio reports absent (silent, too short) is dropped from
    the note. A recording callback for a call without a note changes nothing.
    """
    call_sid = params.get("CallSid", "")
    recording_status = params.get("RecordingStatus", "")
    if recording_status:
        if recording_status in ("absent", "failed"):
            note = calls.peek_statement(gw, call_sid)
            if (
                note is not None
                and note.recording
                and recordings.recording_sid(note.recording) == params.get("RecordingSid")
            ):
                calls.forget_statement(gw, call_sid)
        return
    if params.get("CallStatus") in FINAL_CALL_STATUSES:
        note = calls.take_statement(gw, call_sid)
        if note is not None:
            file_quietly(gw, note)
        recordings.forget_call(gw, call_sid)
