"""A caller's phone and Twilio's part of the call, walking the gateway's TwiML.

Twilio's behaviour played here (https://www.twilio.com/docs/voice/twiml):
`<Say>`/`<Play>`/`<Pause>` are what the caller hears; `<Gather>` waits for
keys and POSTs its action with `Digits` (one key with numDigits="1", the
keys before # with finishOnKey="#"), or on silence goes on with the next
verb; `<Record>` POSTs its action with RecordingUrl, RecordingSid,
RecordingDuration and Digits (the key that ended it, or "hangup"), or on
silence goes on with the next verb; `<Redirect>` is followed at once;
`<Dial>` POSTs its action with DialCallStatus; `<Hangup>` or the end of the
document ends the call. Every request is signed as Twilio signs it: HMAC
of the public URL plus the sorted POST parameters with the auth token.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET  # noqa: S405 - TwiML from the app under test
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

PUBLIC_BASE_URL = "http://gateway.test"
ACCOUNT_SID = "AC" + "0" * 30 + "77"
AUTH_TOKEN = "made-up-voice-auth-token"
CALLER = "+243810000123"
HOTLINE = "+243810009999"


@dataclass
class Heard:
    kind: str  # "say", "play" or "pause"
    value: str  # the words, the URL, or the seconds
    language: str = ""
    voice: str = ""


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@dataclass
class Phone:
    client: FlaskClient
    caller: str = CALLER
    token: str = AUTH_TOKEN
    call_sid: str = field(default_factory=lambda: "CA" + uuid.uuid4().hex)
    heard: list[Heard] = field(default_factory=list)  # since the caller last did something
    all_heard: list[Heard] = field(default_factory=list)
    waiting: ET.Element | None = None  # the Gather, Record or Dial the call waits on
    rest: list[ET.Element] = field(default_factory=list)  # the verbs after it
    ended: bool = False
    requests: int = 0

    # --- what the caller does ---------------------------------------------

    def dial(self) -> Phone:
        self._post(f"{PUBLIC_BASE_URL}/ivr/twilio/voice", {})
        return self

    def press(self, keys: str) -> Phone:
        gather = self._waiting_on("Gather")
        if gather.get("numDigits") == "1":
            digits = keys[:1]
        else:
            digits = keys.split(gather.get("finishOnKey", "#"))[0]
        self._post(gather.get("action", ""), {"Digits": digits})
        return self

    def keep_silent(self) -> Phone:
        """No key, no voice: Twilio goes on with the verbs after the Gather or Record."""
        self._waiting_on("Gather", "Record")
        rest, self.waiting, self.heard = self.rest, None, []
        self._run(rest)
        return self

    def speak(self, recording_url: str, seconds: int = 42, end: str = "#") -> Phone:
        """The statement, ended with # (or "hangup" when the caller hangs up while speaking)."""
        record = self._waiting_on("Record")
        sid = recording_url.rsplit("/", 1)[-1]
        params = {
            "RecordingUrl": recording_url,
            "RecordingSid": sid,
            "RecordingDuration": str(seconds),
            "Digits": end,
        }
        if end == "hangup":
            params["CallStatus"] = "completed"
        self._post(record.get("action", ""), params)
        if end == "hangup":
            self.ended = True
        return self

    def dial_ends(self, status: str) -> Phone:
        dial = self._waiting_on("Dial")
        self._post(dial.get("action", ""), {"DialCallStatus": status})
        return self

    def hang_up(self) -> int:
        """The caller hangs up: Twilio sends the call's status callback."""
        self.ended, self.waiting = True, None
        return self.status_callback({"CallStatus": "completed", "CallDuration": "60"})

    def status_callback(self, params: dict[str, str]) -> int:
        response = self._signed_post(f"{PUBLIC_BASE_URL}/ivr/twilio/status", params)
        return response.status_code

    # --- what the caller hears -------------------------------------------

    def said(self) -> list[str]:
        return [h.value for h in self.heard if h.kind == "say"]

    def played(self) -> list[str]:
        return [h.value for h in self.heard if h.kind == "play"]

    def digits_heard(self) -> str:
        """The digits spoken or played one by one, in order."""
        out = []
        for h in self.heard:
            if h.kind == "say" and h.value.isdigit() and len(h.value) == 1:
                out.append(h.value)
            elif h.kind == "play" and "/digit_" in h.value:
                out.append(h.value.rsplit("digit_", 1)[1][0])
        return "".join(out)

    @property
    def gather(self) -> ET.Element:
        return self._waiting_on("Gather")

    # --- Twilio ----------------------------------------------------------

    def _waiting_on(self, *tags: str) -> ET.Element:
        assert not self.ended, "the call has ended"
        assert self.waiting is not None and self.waiting.tag in tags, (
            f"the call waits on {self.waiting.tag if self.waiting is not None else None}, "
            f"not {tags}"
        )
        return self.waiting

    def _params(self, extra: dict[str, str]) -> dict[str, str]:
        return {
            "CallSid": self.call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": self.caller,
            "To": HOTLINE,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def _signed_post(self, url: str, extra: dict[str, str]):  # type: ignore[no-untyped-def]
        assert url.startswith(PUBLIC_BASE_URL + "/"), f"Twilio would call {url!r}"
        assert self.caller[4:] not in url, "the caller's number must never be in a URL"
        params = self._params(extra)
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests += 1
        return self.client.post(
            path, data=params, headers={"X-Twilio-Signature": sign(url, params, self.token)}
        )

    def _post(self, url: str, extra: dict[str, str]) -> None:
        response = self._signed_post(url, extra)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        self.heard, self.waiting, self.rest = [], None, []
        root = ET.fromstring(response.get_data())  # noqa: S314
        assert root.tag == "Response"
        if self.ended:
            return  # Twilio ignores what it gets after the caller has gone
        self._run(list(root))

    def _hear(self, element: ET.Element) -> None:
        if element.tag == "Say":
            item = Heard(
                "say", element.text or "", element.get("language", ""), element.get("voice", "")
            )
        elif element.tag == "Play":
            item = Heard("play", element.text or "")
        elif element.tag == "Pause":
            item = Heard("pause", element.get("length", "1"))
        else:
            raise AssertionError(f"unexpected <{element.tag}> where the caller listens")
        self.heard.append(item)
        self.all_heard.append(item)

    def _run(self, verbs: list[ET.Element]) -> None:
        for n, verb in enumerate(verbs):
            if verb.tag in ("Say", "Play", "Pause"):
                self._hear(verb)
            elif verb.tag in ("Gather", "Record", "Dial"):
                if verb.tag == "Gather":
                    for child in verb:
                        self._hear(child)
                self.waiting, self.rest = verb, verbs[n + 1 :]
                return
            elif verb.tag == "Redirect":
                assert verb.get("method", "POST") == "POST"
                heard = self.heard
                self._post((verb.text or "").strip(), {})
                self.heard = heard + self.heard
                return
            elif verb.tag == "Hangup":
                self.ended = True
                return
            else:
                raise AssertionError(f"unexpected verb <{verb.tag}>")
        self.ended = True  # the end of the document ends the call
