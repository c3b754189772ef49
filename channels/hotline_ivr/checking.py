"""Checking a report by keypad: the case number then #, the PIN then # (contract).

The answer is the status in plain words and the focal point's latest
messages, read by text-to-speech (`<Say>`,
https://www.twilio.com/docs/voice/twiml/say). After a message, 1 records
an answer (`<Record>`, https://www.twilio.com/docs/voice/twiml/record),
added to the case as the reporter's reply with the recording attached
(gateway.cases.recorded_replies); the worker fetches it from Twilio as it
fetches a statement, then deletes Twilio's copy. A wrong number or PIN, and a
number locked after too many tries, get the same answers as the web
status page; gateway.cases.lookup makes them indistinguishable from an unknown
case and rate-limits by a keyed hash of the calling number.
"""

from __future__ import annotations

import contextlib
import logging

from twilio.twiml.voice_response import VoiceResponse

from gateway.cases import mailbox
from gateway.cases.lookup import Answer
from gateway.cases.recorded_replies import add_recorded_reply
from gateway.work.effects import enqueue_forwarding

from . import calls, recordings
from .steps import Call, again, ask, goodbye

log = logging.getLogger(__name__)

MESSAGES_READ = 3  # the focal point's latest messages read on a status call
ANSWER_MAX_SECONDS = 120
ANSWER_SILENCE = 10  # seconds of silence that end a recorded answer
ANSWER_SEEN_KEY = "complaint-gateway:ivr:answer:"  # + keyed hash of the RecordingSid


def case_number_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "case-number", ["enter_case"], many=True)


def pin_question(call: Call, r: VoiceResponse) -> None:
    ask(call, r, "pin", ["enter_pin"], many=True)


def on_case_number(call: Call) -> VoiceResponse:
    number = "".join(ch for ch in call.digits if ch.isdigit())
    if not number:
        return again(call, case_number_question)
    r = VoiceResponse()
    pin_question(call.but(number=number, tries=0), r)
    return r


def on_pin(call: Call) -> VoiceResponse:
    pin = "".join(ch for ch in call.digits if ch.isdigit())
    if not pin or not call.state.number:
        return again(call, pin_question)
    caller = call.params.get("From") or call.sid
    client = call.gw.pseudonyms.digest("ivr", caller)
    r = VoiceResponse()
    try:
        view = mailbox.check_status(call.gw, call.state.number, pin, client, channel="voice")
    except Exception as exc:  # noqa: BLE001
        log.error("ivr: status look-up failed: %s", type(exc).__name__)
        return goodbye(call, r, "try_later")
    if view.answer is Answer.FOUND:
        call.speaker.prompt(r, f"status_{view.status}")
        shown = [m for m in view.messages if m.direction == "in"][-MESSAGES_READ:]
        for message in shown:
            r.pause(length=1)
            call.speaker.prompt(r, "message_for_you")
            call.speaker.say(r, message.text)
        if shown and view.can_reply and view.case_id is not None:
            answer = calls.seal_answer(call.gw, view.case_id, call.sid)
            ask(call.but(answer=answer, number="", tries=0), r, "answer-offer", ["answer_offer"])
            return r
    elif view.answer is Answer.LOCKED:
        call.speaker.prompt(r, "status_locked")
    else:
        call.speaker.prompt(r, "status_wrong")
    r.pause(length=1)
    return goodbye(call, r)


def on_answer_offer(call: Call) -> VoiceResponse:
    """1 records an answer; any other key or silence ends the call politely."""
    r = VoiceResponse()
    if call.digits != "1" or not call.state.answer:
        return goodbye(call, r)
    record_answer(call.but(tries=0), r)
    return r


def record_answer(call: Call, r: VoiceResponse) -> None:
    call.speaker.prompt(r, "answer_intro")
    action = call.url("answered")
    r.record(
        action=action,
        method="POST",
        max_length=ANSWER_MAX_SECONDS,
        finish_on_key="#",
        timeout=ANSWER_SILENCE,
        play_beep=True,
        trim="trim-silence",
    )
    r.redirect(action, method="POST")  # Twilio goes on here when nothing was recorded


def on_answered(call: Call) -> VoiceResponse:
    """The answer is at Twilio: add it to the case (also when the caller hung up meanwhile)."""
    r = VoiceResponse()
    url = call.params.get("RecordingUrl", "")
    case_id = calls.open_answer(call.gw, call.state.answer, call.sid)
    if case_id is None:
        return goodbye(call, r, "try_later")
    if not url or recordings.recording_sid(url) is None:
        call.speaker.prompt(r, "record_nothing")
        if call.state.tries == 0:
            record_answer(call.but(tries=1), r)
            return r
        return goodbye(call, r, "goodbye_no_answer")
    if not _first_time(call, url):  # the same request again: the answer is in already
        call.speaker.prompt(r, "answer_added")
        return goodbye(call, r)
    try:
        added = add_recorded_reply(
            call.gw, case_id, recordings.PROVIDER, url, recordings.CONTENT_TYPE_HINT
        )
    except Exception as exc:  # noqa: BLE001 - the caller hears an apology, never silence
        log.error("ivr: recorded answer not stored: %s", type(exc).__name__)
        with contextlib.suppress(Exception):  # the same request again may store it
            call.gw.redis.delete(_seen_key(call, url))
        return goodbye(call, r, "try_later")
    if not added:  # closed meanwhile: Twilio's copy goes, nothing else is kept
        recordings.discard(call.gw, url)
        call.speaker.prompt(r, "status_closed")
        return goodbye(call, r)
    # Redis away: the download is stored, and the sweeper will enqueue it.
    with contextlib.suppress(Exception):
        enqueue_forwarding(call.gw, case_id)
    call.speaker.prompt(r, "answer_added")
    return goodbye(call, r)


def _first_time(call: Call, url: str) -> bool:
    """False when this recording was taken already (a request sent twice); True without Redis."""
    try:
        return bool(call.gw.redis.set(_seen_key(call, url), "1", nx=True, ex=calls.NOTE_TTL))
    except Exception:  # noqa: BLE001 - Redis away: keep the answer rather than lose it
        return True


def _seen_key(call: Call, url: str) -> str:
    return ANSWER_SEEN_KEY + call.gw.pseudonyms.digest("ivr-answer", url)
