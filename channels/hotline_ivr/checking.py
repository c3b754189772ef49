"""Checking a report by keypad: the case number then #, the PIN then # (contract).

The answer is the status in plain words and the focal point's latest
messages, read by text-to-speech (`<Say>`,
https://www.twilio.com/docs/voice/twiml/say). A wrong number or PIN, and a
number locked after too many tries, get the same answers as the web
status page; gateway.cases.lookup makes them indistinguishable from an unknown
case and rate-limits by a keyed hash of the calling number.
"""

from __future__ import annotations

import logging

from twilio.twiml.voice_response import VoiceResponse

from gateway.cases import mailbox
from gateway.cases.lookup import Answer

from .steps import Call, again, ask, goodbye

log = logging.getLogger(__name__)

MESSAGES_READ = 3  # the focal point's latest messages read on a status call


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
    elif view.answer is Answer.LOCKED:
        call.speaker.prompt(r, "status_locked")
    else:
        call.speaker.prompt(r, "status_wrong")
    r.pause(length=1)
    return goodbye(call, r)
