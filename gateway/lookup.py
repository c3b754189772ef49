"""Status look-ups by case number and PIN, for every channel.

The answer never tells whether a case number exists: a wrong PIN, an
unknown number and a number with a bad check digit all give `WRONG`, and
every look-up verifies an Argon2 hash (a dummy one when there is no case) so
they take the same time. Failures are counted per typed case number (keyed
hash, in the database, so a lock survives a Redis restart) and per client
(keyed hash, in Redis, short-lived); past the limits the answer is `LOCKED`
for a while, for existing and unknown numbers alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from . import numbering
from .cases import find_case
from .models import Case, LookupThrottle, utcnow
from .runtime import Gateway

MAX_FAILURES_PER_NUMBER = 5
FAILURE_WINDOW = timedelta(minutes=30)
LOCK_TIME = timedelta(minutes=30)
MAX_ATTEMPTS_PER_CLIENT = 20
CLIENT_WINDOW_SECONDS = 15 * 60


class Answer(StrEnum):
    FOUND = "found"
    WRONG = "wrong"  # unknown number or wrong PIN: deliberately the same
    LOCKED = "locked"


@dataclass(frozen=True)
class LookupResult:
    answer: Answer
    case: Case | None = None


def _number_key(gw: Gateway, typed: str) -> str:
    number = numbering.parse_case_number(typed, gw.settings.case_number_prefix)
    canonical = number.digits if number else re.sub(r"\W", "", typed.upper())[:40]
    return gw.pseudonyms.digest("lookup-number", canonical)


def _client_allowed(gw: Gateway, client: str | None) -> bool:
    if not client:
        return True
    key = "complaint-gateway:lookup-client:" + gw.pseudonyms.digest("lookup-client", client)
    try:
        pipe = gw.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, CLIENT_WINDOW_SECONDS, nx=True)
        attempts = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - Redis away: the per-number lock still holds
        return True
    return int(attempts) <= MAX_ATTEMPTS_PER_CLIENT


def check(
    session: Session, gw: Gateway, typed_number: str, pin: str, client: str | None = None
) -> LookupResult:
    """Look a case up, counting failures; commit the session afterwards.

    Args:
        typed_number: the case number as the reporter typed or keyed it.
        pin: the PIN as typed (separators allowed).
        client: what identifies the asking client for rate limiting (an IP
            address, a sender pseudonym); only its keyed hash is kept.
    """
    now = utcnow()
    key = _number_key(gw, typed_number)
    throttle = session.get(LookupThrottle, key, with_for_update=True)
    if throttle is not None and throttle.locked_until and throttle.locked_until > now:
        numbering.verify_pin(numbering.DUMMY_PIN_HASH, pin)
        return LookupResult(Answer.LOCKED)
    if not _client_allowed(gw, client):
        numbering.verify_pin(numbering.DUMMY_PIN_HASH, pin)
        return LookupResult(Answer.LOCKED)
    case = find_case(session, typed_number, gw.settings.case_number_prefix)
    ok = numbering.verify_pin(case.pin_hash if case else numbering.DUMMY_PIN_HASH, pin)
    if ok and case is not None:
        if throttle is not None:
            session.delete(throttle)
        return LookupResult(Answer.FOUND, case)
    if throttle is None:
        throttle = LookupThrottle(key=key, failures=0, window_start=now)
        session.add(throttle)
    if throttle.window_start < now - FAILURE_WINDOW:
        throttle.failures, throttle.window_start = 0, now
    throttle.failures += 1
    if throttle.failures >= MAX_FAILURES_PER_NUMBER:
        throttle.locked_until = now + LOCK_TIME
        throttle.failures, throttle.window_start = 0, now
    session.flush()
    return LookupResult(Answer.WRONG)
