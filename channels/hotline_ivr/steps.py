"""The parts every step of a call is made of: the request, a question, asking again.

A step gets a `Call` (the gateway, the state carried in the URL, Twilio's
POST parameters) and answers with TwiML built with the twilio library's
`VoiceResponse` (https://www.twilio.com/docs/voice/twiml). A question is a
`<Gather>` (https://www.twilio.com/docs/voice/twiml/gather) holding its
prompts, followed by a `<Redirect>` to the same step: Twilio goes there
when the caller says nothing, so silence arrives as a request without
`Digits`, like a wrong key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

from twilio.twiml.voice_response import VoiceResponse

from gateway.cases import voice_prompts
from gateway.core.runtime import Gateway

from .calls import CallState
from .prompts import Speaker

KEY_TIMEOUT = 8  # seconds of silence before a one-key question counts as unanswered
NUMBER_TIMEOUT = 12  # seconds between digits of a case number or PIN


@dataclass(frozen=True)
class Call:
    """One request of a call: the gateway, the state from the URL, Twilio's parameters."""

    gw: Gateway
    state: CallState
    params: Mapping[str, str]
    locales: list[str]

    @cached_property
    def uploaded(self) -> voice_prompts.Index:
        """The prompts recorded in the console, read once a request (one Redis GET, cached)."""
        return voice_prompts.recorded(self.gw)

    @cached_property
    def speaker(self) -> Speaker:
        return Speaker(self.gw.settings, self.state.lang, self.uploaded.get(self.state.lang))

    @property
    def digits(self) -> str:
        return self.params.get("Digits", "").strip()

    @property
    def sid(self) -> str:
        return self.params.get("CallSid", "")

    def url(self, step: str, state: CallState | None = None) -> str:
        query = (state or self.state).query()
        base = (self.gw.settings.public_base_url or "").rstrip("/")
        return f"{base}/ivr/twilio/{step}" + (f"?{query}" if query else "")

    def but(self, **changes: object) -> Call:
        call = Call(self.gw, self.state.but(**changes), self.params, self.locales)
        if "uploaded" in self.__dict__:  # the same request: no second look-up
            call.__dict__["uploaded"] = self.uploaded
        return call


Render = Callable[[Call, VoiceResponse], None]


def ask(call: Call, r: VoiceResponse, step: str, prompts: list[str], many: bool = False) -> None:
    """A question: the prompts inside <Gather>, then a <Redirect> for silence."""
    action = call.url(step)
    if many:
        gather = r.gather(action=action, method="POST", finish_on_key="#", timeout=NUMBER_TIMEOUT)
    else:
        gather = r.gather(action=action, method="POST", num_digits=1, timeout=KEY_TIMEOUT)
    for prompt_id in prompts:
        call.speaker.prompt(gather, prompt_id)
    r.redirect(action, method="POST")  # reached on silence: the step again, without Digits


def goodbye(call: Call, r: VoiceResponse, prompt_id: str = "goodbye") -> VoiceResponse:
    call.speaker.prompt(r, prompt_id)
    r.hangup()
    return r


def say_goodbye(call: Call, r: VoiceResponse) -> None:
    goodbye(call, r)


def again(call: Call, render: Render, give_up: Render | None = None) -> VoiceResponse:
    """No answer or a wrong key: ask once more, then `give_up` (default: goodbye)."""
    r = VoiceResponse()
    if call.state.tries == 0:
        call.speaker.prompt(r, "not_understood")
        render(call.but(tries=1), r)
    elif give_up is not None:
        give_up(call.but(tries=0), r)
    else:
        goodbye(call, r, "goodbye_no_answer")
    return r
