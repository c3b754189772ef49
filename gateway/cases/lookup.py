"""Status look-ups by case number and PIN, for every channel.

The answer never tells whether a case number exists: a wrong PIN, an
unknown number and a number with a bad check digit all give `WRONG`, and
every look-up verifies an Argon2 hash (a dummy one when there is no case) so
they take the same time. `LOCKED` ("too many tries") comes from three
limits, applied alike to existing and unknown numbers:

- per case number and channel (keyed hash, in the database, so it survives
  a Redis restart): after MAX_FAILURES_PER_NUMBER failures, each further
  failure makes the next look-up wait before it is even checked, 1, 2, 4 …
  minutes up to MAX_DELAY. Look-ups during the wait are not checked and do
  not lengthen it, so the right PIN always works once the wait is over; and
  a channel has its own wait, so guessing on the web does not lock out the
  reporter who checks by SMS or by phone;
- per client (keyed hash, in Redis, short-lived), across case numbers;
- per channel, a budget of failures per hour across all numbers and
  clients (gateway.cases.lookup_budget), the limit that still holds behind Tor.

The reasoning and the arithmetic are in docs/threat-model.md (finding 12).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.cases import lookup_budget, numbering
from gateway.cases.filing import find_case
from gateway.cases.lookup_budget import Refusal
from gateway.core.models import Case, LookupThrottle
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow

MAX_FAILURES_PER_NUMBER = 5  # failures on one number and channel before the first wait
FIRST_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(minutes=30)  # what the "too many tries" texts tell the reporter
FAILURE_MEMORY = timedelta(hours=24)  # failures are forgotten after this long without one
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


def delay_after(failures: int) -> timedelta:
    """How long the next look-up waits after `failures` failures in a row on a number."""
    if failures < MAX_FAILURES_PER_NUMBER:
        return timedelta(0)
    doublings = min(failures - MAX_FAILURES_PER_NUMBER, 16)
    return min(FIRST_DELAY * 2**doublings, MAX_DELAY)


def _number_key(gw: Gateway, typed: str, channel: str) -> str:
    number = numbering.parse_case_number(typed, gw.settings.case_number_prefix)
    canonical = number.digits if number else re.sub(r"\W", "", typed.upper())[:40]
    return gw.pseudonyms.digest("lookup-number", f"{channel}:{canonical}")


def _client_allowed(gw: Gateway, client: str | None) -> bool:
    if not client:
        return True
    key = "complaint-gateway:lookup-client:" + gw.pseudonyms.digest("lookup-client", client)
    try:
        pipe = gw.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, CLIENT_WINDOW_SECONDS, nx=True)
        attempts = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - Redis away: the per-number wait still holds
        return True
    return int(attempts) <= MAX_ATTEMPTS_PER_CLIENT


def _throttle_for_update(session: Session, key: str) -> LookupThrottle:
    """The number's row, created if missing, locked until commit.

    Insert-or-ignore first, so that two first look-ups at the same moment on
    PostgreSQL do not collide on the primary key. A row can vanish while we
    wait for its lock (the reporter got in and the row was deleted): then
    insert it again.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    while True:
        session.execute(
            insert(LookupThrottle)
            .values(key=key, failures=0, window_start=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
        )
        throttle = session.get(LookupThrottle, key, with_for_update=True, populate_existing=True)
        if throttle is not None:
            return throttle


def _record_failure(throttle: LookupThrottle, now: datetime) -> None:
    # window_start holds the time of the latest failure
    if throttle.failures and throttle.window_start < now - FAILURE_MEMORY:
        throttle.failures = 0
    throttle.failures += 1
    throttle.window_start = now
    wait = delay_after(throttle.failures)
    throttle.locked_until = now + wait if wait else None


def _refuse(
    session: Session, gw: Gateway, throttle: LookupThrottle, pin: str, channel: str, why: Refusal
) -> LookupResult:
    numbering.verify_pin(numbering.DUMMY_PIN_HASH, pin)  # the same time as a check
    if not throttle.failures:
        session.delete(throttle)  # no row for a number that has not failed
    lookup_budget.record_refusal(gw, channel, why)
    return LookupResult(Answer.LOCKED)


def check(
    session: Session,
    gw: Gateway,
    typed_number: str,
    pin: str,
    client: str | None = None,
    *,
    channel: str,
) -> LookupResult:
    """Look a case up, counting failures; commit the session afterwards.

    The number's row stays locked until commit, so look-ups of one number
    and channel are checked one after the other: a burst sent the moment a
    wait ends gets one check, not one each.

    Args:
        typed_number: the case number as the reporter typed or keyed it.
        pin: the PIN as typed (separators allowed).
        client: what identifies the asking client for rate limiting (an IP
            address, a sender pseudonym); only its keyed hash is kept.
        channel: `web`, `sms`, `whatsapp`, `telegram`, `voice`: each has its
            own waits and its own failure budget.
    """
    throttle = _throttle_for_update(session, _number_key(gw, typed_number, channel))
    now = utcnow()  # after the lock: a look-up that waited for it sees the wait just set
    if throttle.locked_until and throttle.locked_until > now:
        return _refuse(session, gw, throttle, pin, channel, Refusal.CASE)
    if not _client_allowed(gw, client):
        return _refuse(session, gw, throttle, pin, channel, Refusal.CLIENT)
    if not lookup_budget.admit(gw, channel):
        return _refuse(session, gw, throttle, pin, channel, Refusal.BUDGET)
    case = find_case(session, typed_number, gw.settings.case_number_prefix)
    ok = numbering.verify_pin(case.pin_hash if case else numbering.DUMMY_PIN_HASH, pin)
    if ok and case is not None:
        session.delete(throttle)  # the reporter is in: earlier failures are forgotten
        return LookupResult(Answer.FOUND, case)
    _record_failure(throttle, now)
    session.flush()
    lookup_budget.record_failure(gw, channel)
    return LookupResult(Answer.WRONG)


def forget_old_failures(gw: Gateway) -> int:
    """Delete the failure counts that no longer matter; returns how many.

    A row is kept only while it can still make a look-up wait: until
    FAILURE_MEMORY after its latest failure and until its wait is over.
    Mistyped numbers would otherwise pile up (about 500 a day per channel
    under the budget), each a keyed hash of what someone typed.
    """
    now = utcnow()
    with gw.sessions() as session, session.begin():
        result = session.execute(
            delete(LookupThrottle).where(
                LookupThrottle.window_start < now - FAILURE_MEMORY,
                or_(LookupThrottle.locked_until.is_(None), LookupThrottle.locked_until < now),
            )
        )
    return int(result.rowcount or 0)
