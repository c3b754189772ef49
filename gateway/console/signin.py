"""One sign-in attempt, checked with the same work whatever the outcome.

Every checked attempt verifies one Argon2 hash (the user's, or a dummy one
of the same parameters for a user name that does not exist or is
deactivated), checks one TOTP code (against a dummy secret when there is
no user), adds one to a failure count in the database (a row that does not
exist when there is no user) and appends one audit entry. So an unknown
name, a held account, a wrong password and a wrong code answer alike and
in the same time, and the answer tells nothing of which factor was wrong.

No number of wrong passwords holds an account: the limits on guessing are
per client (throttle.py). An account is held (HOLD_TIME) only after
MAX_CODE_FAILURES wrong codes given with its right password: only someone
who has the password can cause that, and then the password is no longer
secret and must be changed. A held account refuses the right code too. The
owner is told at the next sign-in how many attempts failed since the last
one (`failed_logins`). The reasoning is in docs/threat-model.md (finding 13).
"""

from __future__ import annotations

import contextlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from gateway.cases import audit
from gateway.console import security, signin_metrics, users
from gateway.core.accounts import User
from gateway.core.runtime import Gateway

MAX_CODE_FAILURES = 5
HOLD_TIME = timedelta(minutes=15)
CODE_FAILURES_KEY = "complaint-gateway:console-code-failures:"
CODE_FAILURE_MEMORY = 3600  # wrong codes are forgotten an hour after the last
TOTP_REPLAY_KEY = "complaint-gateway:console-totp:"
DUMMY_HASH = users.HASHER.hash("not a password of anyone")
DUMMY_TOTP_SECRET = pyotp.random_base32().encode()


class Outcome(StrEnum):
    OK = "ok"
    UNKNOWN = "unknown user"  # no such user, or deactivated
    WRONG_PASSWORD = "wrong password"  # noqa: S105 - a reason, not a password
    WRONG_CODE = "wrong code"  # the right password; a wrong, old or reused code
    HELD = "held"  # both factors right, but the account is held after wrong codes


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    token: str | None = None  # the new session's cookie value, when signed in
    failures: int = 0  # failed attempts on the account since its last sign-in
    held_until: datetime | None = None  # when HELD, or when this attempt started a hold
    held_now: bool = False  # this attempt started a hold


def password_ok(stored: str, given: str) -> bool:
    try:
        return users.HASHER.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def _code_step(secret: str, code: str, at: datetime) -> int | None:
    """The 30-second step whose code (this one or a neighbour) `code` is, else None."""
    code = code.strip().replace(" ", "")
    candidate = code if code.isascii() and code.isdigit() and len(code) == 6 else "x" * 6
    totp = pyotp.TOTP(secret)
    found = None
    for offset in (1, -1, 0):  # all three compared every time; this step's wins
        if hmac.compare_digest(totp.at(at, counter_offset=offset), candidate):
            found = totp.timecode(at) + offset
    return found


def _first_use(gw: Gateway, user_id: int, step: int) -> bool:
    """A code is accepted once: one seen on a screen or over a shoulder is spent."""
    try:
        return bool(gw.redis.set(f"{TOTP_REPLAY_KEY}{user_id}:{step}", 1, nx=True, ex=120))
    except Exception:  # noqa: BLE001 - Redis away: a replay check is lost, not sign-in
        return True


def _count_code_failure(gw: Gateway, user_id: int) -> int:
    """Wrong codes with the right password, in a row; 0 when Redis is away."""
    key = f"{CODE_FAILURES_KEY}{user_id}"
    try:
        pipe = gw.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, CODE_FAILURE_MEMORY)
        return int(pipe.execute()[0])
    except Exception:  # noqa: BLE001 - Redis away: the client limits still hold
        return 0


def attempt(gw: Gateway, username: str, password: str, code: str) -> Result:
    """Check one sign-in; on success start a session. Always one hash, one code check."""
    at = security.now()
    with gw.sessions() as db:
        # No user name holds a NUL, and PostgreSQL text cannot: such a name is unknown.
        query = select(User).where(User.username == username)
        user = None if "\x00" in username else db.scalars(query).first()
    known = user is not None and user.active
    stored = user.password_hash if known else DUMMY_HASH
    secret_enc = user.totp_secret_enc if known else gw.cipher.encrypt(DUMMY_TOTP_SECRET)
    password_right = password_ok(stored, password)
    step = _code_step(gw.cipher.decrypt(secret_enc).decode(), code, at)
    held = known and user.locked_until is not None and user.locked_until > at
    if not known:
        outcome = Outcome.UNKNOWN
    elif not password_right:
        outcome = Outcome.WRONG_PASSWORD
    elif step is None or not _first_use(gw, user.id, step):
        outcome = Outcome.WRONG_CODE
    else:
        outcome = Outcome.HELD if held else Outcome.OK
    if outcome is Outcome.OK:
        result = _signed_in(gw, user.id, password)
    else:
        result = _failed(gw, user if known else None, outcome, at)
    signin_metrics.checked(gw, failed=result.token is None, held=result.held_now)
    return result


def _signed_in(gw: Gateway, user_id: int, password: str) -> Result:
    with gw.sessions() as db, db.begin():
        user = db.get(User, user_id)
        assert user is not None
        failures = user.failed_logins
        user.failed_logins = 0
        user.locked_until = None
        if users.HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = users.HASHER.hash(password)
        token = security.start_session(db, user)
        audit.record(db, user.username, "login.ok", user.username, {"failed_before": failures})
    with contextlib.suppress(Exception):  # Redis away: the count expires by itself
        gw.redis.delete(f"{CODE_FAILURES_KEY}{user_id}")
    return Result(Outcome.OK, token=token, failures=failures)


def _failed(gw: Gateway, user: User | None, outcome: Outcome, at: datetime) -> Result:
    held_until = user.locked_until if outcome is Outcome.HELD and user is not None else None
    held_now = False
    wrong_code = outcome is Outcome.WRONG_CODE and user is not None
    if wrong_code and _count_code_failure(gw, user.id) >= MAX_CODE_FAILURES:  # type: ignore[union-attr]
        held_until, held_now = at + HOLD_TIME, True
    with gw.sessions() as db, db.begin():
        # The same statement for every failure; for an unknown name it changes no row.
        values: dict[str, object] = {"failed_logins": User.failed_logins + 1}
        if held_now:
            values["locked_until"] = held_until
        target = user.id if user is not None else -1
        db.execute(update(User).where(User.id == target).values(**values))
        detail: dict[str, object] = {"reason": outcome.value}
        if held_now:
            detail["held"] = True
        if user is None:
            audit.record(db, "anonymous", "login.failed", None, detail)
        else:
            audit.record(db, user.username, "login.failed", user.username, detail)
    if held_now and user is not None:
        with contextlib.suppress(Exception):  # Redis away: the count expires by itself
            gw.redis.delete(f"{CODE_FAILURES_KEY}{user.id}")
    return Result(outcome, held_until=held_until, held_now=held_now)
