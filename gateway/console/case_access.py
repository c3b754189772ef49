"""The console's check on a restricted case, and an administrator's override of it.

Every view that opens a case goes through `require` (load_case in case.py
calls it), so a restricted case answers 403 to a user not named on it:
its page, attachments, exports and every action. An administrator may
override for OVERRIDE_MINUTES after giving a reason (audited by the
override view); the override belongs to the console session that asked
(signing out ends it) and is kept in Redis, next to the session's other
short-lived marks, with its end time read against the console's clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import g
from redis.exceptions import RedisError
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from gateway.cases import access
from gateway.console import security
from gateway.console.security import SignedIn
from gateway.core.models import Case
from gateway.core.states import Role

log = logging.getLogger(__name__)
OVERRIDE_MINUTES = 60  # an override for one look; another look asks for a reason again
OVERRIDE_KEY = "gateway:console:override:"


class Restricted(Forbidden):
    """403 for a restricted case; `number` (as in the URL) lets an administrator override."""

    def __init__(self, number: str | None = None) -> None:
        super().__init__()
        self.number = number


def _key(user: SignedIn, case_id: int) -> str:
    return f"{OVERRIDE_KEY}{user.session_id}:{case_id}"


def overridden(case: Case, user: SignedIn) -> bool:
    """Whether this administrator's session holds an unexpired override of this case."""
    if user.role is not Role.ADMIN:
        return False
    try:
        until = security.gateway().redis.get(_key(user, case.id))
    except RedisError:  # Redis away: no override, the case stays closed to them
        log.warning("console override not readable: Redis unavailable")
        return False
    return until is not None and float(until) > security.now().timestamp()


def start_override(case: Case, user: SignedIn) -> None:
    """Open the case to this administrator's session for a while (the caller audits it)."""
    until = security.now() + timedelta(minutes=OVERRIDE_MINUTES)
    seconds = OVERRIDE_MINUTES * 60
    security.gateway().redis.set(_key(user, case.id), str(until.timestamp()), ex=seconds)


def may_view(db: Session, case: Case) -> bool:
    """Whether the signed-in user may open this case now (named, not restricted, or overridden)."""
    user: SignedIn = g.console_user
    return access.may_open(db, case, user.id) or overridden(case, user)


def require(db: Session, case: Case, number: str | None = None) -> Case:
    """The case, or 403 (Restricted) for a user who may not open it."""
    if not may_view(db, case):
        raise Restricted(number)
    return case


@dataclass(frozen=True)
class Panel:
    """What the case page's "Restricted access" section shows."""

    restricted: bool
    named: frozenset[int]
    users: dict[int, str]  # who can be named: id -> user name
    me: int
    max_reason: int = access.MAX_REASON


def panel(db: Session, case: Case) -> Panel:
    named = frozenset(access.named_users(db, case.id)) if case.restricted else frozenset()
    user: SignedIn = g.console_user
    return Panel(case.restricted, named, access.nameable(db), user.id)
