"""A call's state, carried in the TwiML action URLs, and the one thing kept in Redis.

Each step's answer names the next step's URL with what the caller chose so
far in its query (`?l=fr&c=2&d=1`). Twilio signs the URL it calls together
with the POST parameters (https://www.twilio.com/docs/usage/security), so
the state comes back exactly as the gateway wrote it and no table has to
hold a call's progress. The caller's number is never put in a URL; the
case number and PIN, which the "hear them again" step needs, travel
encrypted with the data key.

Redis holds one short-lived, encrypted note per call, under a keyed hash of
the CallSid: a statement recorded and not yet filed. If the caller hangs up
while asked whether to keep it, the call's status callback files it, so a
statement once spoken is not lost (see flow.on_call_status).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from urllib.parse import urlencode, urlsplit

from cryptography.fernet import InvalidToken

from gateway.cases.allegation import WHO_KEYS
from gateway.core import i18n
from gateway.core.runtime import Gateway

log = logging.getLogger(__name__)

PENDING_KEY = "complaint-gateway:ivr:pending:"
FILED_KEY = "complaint-gateway:ivr:filed:"
NOTE_TTL = 6 * 3600  # seconds; longer than any call
CHOICES = {"", "0", "1", "2", "3"}
# Who did it, by key (flow.on_who): values of Case.personnel_category (gateway.cases.allegation).
WHO = WHO_KEYS
PERSONNEL = frozenset(WHO.values())
DIGITS = "0123456789"  # a keypad's: str.isdigit() also takes "²", which int() refuses


@dataclass(frozen=True)
class CallState:
    """What a call has chosen so far; every field is a short string in the URL."""

    lang: str
    category: str = ""  # "1" exploitation, "2" abuse, "3" other, "0" not given
    danger: str = ""  # "1" yes, "2" no, "0" not given
    recording: str = ""  # Twilio's RecordingUrl of the statement
    number: str = ""  # the case number keyed in, on the way to the PIN
    receipt: str = ""  # case number and PIN, encrypted (a `Cipher` token)
    tries: int = 0  # 1 after the question was asked again
    attempt: int = 0  # filing attempts after a failure
    answer: str = ""  # the case a recorded answer goes to, encrypted (`seal_answer`)
    personnel: str = ""  # who did it: a value of `PERSONNEL` ("" not asked or not answered)

    _KEYS = (
        ("l", "lang"),
        ("c", "category"),
        ("d", "danger"),
        ("r", "recording"),
        ("n", "number"),
        ("k", "receipt"),
        ("t", "tries"),
        ("a", "attempt"),
        ("p", "answer"),
        ("w", "personnel"),
    )

    def query(self) -> str:
        values = {key: str(getattr(self, name)) for key, name in self._KEYS}
        return urlencode({k: v for k, v in values.items() if v and v != "0"})

    def but(self, **changes: object) -> CallState:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_args(cls, args: dict[str, str], locales: list[str]) -> CallState:
        """Read the state back; anything unexpected falls back to a safe default."""
        lang = args.get("l", "")
        recording = _http_url(args.get("r", ""))
        return cls(
            lang=lang if lang in locales else locales[0],
            category=_choice(args.get("c")),
            danger=_choice(args.get("d")),
            recording=recording,
            number="".join(ch for ch in args.get("n", "") if ch in DIGITS)[:20],
            receipt=args.get("k", "")[:400],
            tries=_small(args.get("t")),
            attempt=_small(args.get("a")),
            answer=args.get("p", "")[:400],
            personnel=args.get("w", "") if args.get("w") in PERSONNEL else "",
        )


def _http_url(value: str) -> str:
    """The value if it is an http(s) URL, else "" (`http://[` does not even split)."""
    try:
        return value if urlsplit(value).scheme in ("http", "https") else ""
    except ValueError:
        return ""


def _choice(value: str | None) -> str:
    return value if value in CHOICES else ""


def _small(value: str | None) -> int:
    return int(value) if value and len(value) == 1 and value in DIGITS else 0


def locales_offered(configured: tuple[str, ...]) -> list[str]:
    """The configured locales in order; a keypad menu has nine digits for them."""
    return i18n.configured_locales(configured)[:9]


def seal_receipt(gw: Gateway, case_number: str, pin: str) -> str:
    return gw.cipher.encrypt(f"{case_number}|{pin}".encode()).decode("ascii")


def open_receipt(gw: Gateway, token: str) -> tuple[str, str] | None:
    try:
        number, _, pin = gw.cipher.decrypt(token.encode("ascii")).decode().partition("|")
    except (InvalidToken, UnicodeError, ValueError):
        return None
    return (number, pin) if number and pin else None


def seal_answer(gw: Gateway, case_id: int, call_sid: str) -> str:
    """The case a caller verified with its PIN, valid for this call only (a URL may be logged)."""
    return gw.cipher.encrypt(f"answer|{case_id}|{call_sid}".encode()).decode("ascii")


def open_answer(gw: Gateway, token: str, call_sid: str) -> int | None:
    """The case id sealed for this call, or None."""
    try:
        kind, case_id, sid = gw.cipher.decrypt(token.encode("ascii")).decode().split("|")
    except (InvalidToken, UnicodeError, ValueError):
        return None
    if kind != "answer" or not call_sid or sid != call_sid or not case_id.isdigit():
        return None
    return int(case_id)


# --- the note of a statement recorded but not yet filed ----------------------


def _pending_key(gw: Gateway, call_sid: str) -> str:
    return PENDING_KEY + gw.pseudonyms.digest("ivr-call", call_sid)


def remember_statement(gw: Gateway, call_sid: str, state: CallState) -> None:
    """Keep the recorded statement's state until it is filed or replaced."""
    if not call_sid:
        return
    note = gw.cipher.encrypt(json.dumps(state.__dict__).encode())
    try:
        gw.redis.set(_pending_key(gw, call_sid), note, ex=NOTE_TTL)
    except Exception:  # noqa: BLE001 - the caller's answer still files it
        log.warning("ivr: pending statement not noted (Redis unavailable)")


def take_statement(gw: Gateway, call_sid: str) -> CallState | None:
    """Remove and return the pending statement of a call, if any."""
    if not call_sid:
        return None
    try:
        note = gw.redis.getdel(_pending_key(gw, call_sid))
    except Exception:  # noqa: BLE001
        log.warning("ivr: pending statement not readable (Redis unavailable)")
        return None
    if note is None:
        return None
    try:
        return CallState(**json.loads(gw.cipher.decrypt(note)))
    except (InvalidToken, ValueError, TypeError):
        return None


def peek_statement(gw: Gateway, call_sid: str) -> CallState | None:
    """The pending statement of a call without removing it."""
    if not call_sid:
        return None
    try:
        note = gw.redis.get(_pending_key(gw, call_sid))
        return CallState(**json.loads(gw.cipher.decrypt(note))) if note else None
    except Exception:  # noqa: BLE001 - Redis away or a note from another key
        return None


def forget_statement(gw: Gateway, call_sid: str) -> None:
    if not call_sid:
        return
    try:
        gw.redis.delete(_pending_key(gw, call_sid))
    except Exception:  # noqa: BLE001 - it expires on its own
        log.warning("ivr: pending statement not removed (Redis unavailable)")


def claim_filing(gw: Gateway, recording_url: str) -> bool:
    """True for the first of the caller's "keep" and the status callback to file a recording.

    With Redis away the answer is True: two cases for one statement are
    better than none.
    """
    key = FILED_KEY + gw.pseudonyms.digest("ivr-recording", recording_url)
    try:
        return bool(gw.redis.set(key, b"1", nx=True, ex=NOTE_TTL))
    except Exception:  # noqa: BLE001
        return True


def release_filing(gw: Gateway, recording_url: str) -> None:
    """Filing failed: let the next attempt claim it again."""
    try:
        gw.redis.delete(FILED_KEY + gw.pseudonyms.digest("ivr-recording", recording_url))
    except Exception:  # noqa: BLE001
        log.warning("ivr: filing claim not released (Redis unavailable)")
