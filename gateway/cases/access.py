"""Who may see a case: every console user, unless the case is restricted.

A focal point or administrator can restrict a case to named users (a
conflict of interest: the accused's unit, a colleague involved). Other
users see "restricted" in the queue and get 403 on its pages, attachments
and exports; an administrator may override with a reason, audited. Every
page, download and export asks `may_open` (one case) or filters with
`visible` (many). `restrict`, `lift` and `record_override` write the audit
entries; the reason given is staff text, kept short, in the entry's detail.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from gateway.cases import audit
from gateway.core.accounts import User
from gateway.core.models import Case, CaseAccess
from gateway.core.states import Role

MAX_REASON = 300  # a reason is a line for the audit trail, not an account of the case
# Who may be named: the roles that read cases (a viewer or intake user opens none).
NAMEABLE = (Role.ADMIN.value, Role.FOCAL_POINT.value)


class AccessError(ValueError):
    """A restriction refused; `field` is "reason" or "users"."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _named(user_id: int) -> ColumnElement[bool]:
    return exists(
        select(CaseAccess.id).where(CaseAccess.case_id == Case.id, CaseAccess.user_id == user_id)
    )


def visible(user_id: int) -> ColumnElement[bool]:
    """A WHERE clause on Case: the cases this user may open without an override."""
    return or_(Case.restricted.is_(False), _named(user_id))


def hidden(user_id: int) -> ColumnElement[bool]:
    """A WHERE clause on Case: the restricted cases this user is not named on."""
    return and_(Case.restricted.is_(True), ~_named(user_id))


def may_open(session: Session, case: Case, user_id: int) -> bool:
    """Whether this user is allowed this case without an override."""
    if not case.restricted:
        return True
    return (
        session.scalar(
            select(CaseAccess.id).where(
                CaseAccess.case_id == case.id, CaseAccess.user_id == user_id
            )
        )
        is not None
    )


def named_users(session: Session, case_id: int) -> list[int]:
    """The ids of the users named on a case, in the order they were named."""
    return list(
        session.scalars(
            select(CaseAccess.user_id).where(CaseAccess.case_id == case_id).order_by(CaseAccess.id)
        )
    )


def nameable(session: Session) -> dict[int, str]:
    """The users a case can be restricted to (active, reading cases): id -> user name."""
    rows = session.execute(
        select(User.id, User.username)
        .where(User.active.is_(True), User.role.in_(NAMEABLE))
        .order_by(User.username)
    )
    return {user_id: username for user_id, username in rows}


def clean_reason(text: str | None) -> str:
    """The reason as stored, or AccessError("reason"): required, one short line."""
    reason = " ".join((text or "").split())
    if not reason or len(reason) > MAX_REASON:
        raise AccessError("reason")
    return reason


def restrict(
    session: Session, case: Case, user_ids: Iterable[int], actor: str, reason: str
) -> list[int]:
    """Restrict the case to exactly these users (or change who is named); audited.

    Every id must be an active administrator or focal point, else
    AccessError("users") and nothing is changed. The caller adds the acting
    user, so that no one locks themselves out. Returns the ids now named.
    """
    wanted = sorted(set(user_ids))
    reason = clean_reason(reason)
    allowed = nameable(session)
    if not wanted or any(user_id not in allowed for user_id in wanted):
        raise AccessError("users")
    before = set(named_users(session, case.id)) if case.restricted else set()
    if case.restricted and before == set(wanted):
        return wanted  # nothing changed: nothing to record
    session.execute(
        delete(CaseAccess).where(CaseAccess.case_id == case.id, CaseAccess.user_id.not_in(wanted))
    )
    for user_id in wanted:
        if user_id not in before:
            session.add(CaseAccess(case_id=case.id, user_id=user_id, granted_by=actor))
    case.restricted = True
    session.flush()
    detail: dict[str, object] = {
        "users": wanted,
        "added": sorted(set(wanted) - before),
        "removed": sorted(before - set(wanted)),
        "reason": reason,
    }
    audit.record(session, actor, "case.restrict", case.case_number, detail)
    return wanted


def lift(session: Session, case: Case, actor: str, reason: str) -> bool:
    """Open the case to every console user again; audited. False if it was not restricted."""
    reason = clean_reason(reason)
    if not case.restricted:
        return False
    before = named_users(session, case.id)
    session.execute(delete(CaseAccess).where(CaseAccess.case_id == case.id))
    case.restricted = False
    session.flush()
    detail: dict[str, object] = {"users": sorted(before), "reason": reason}
    audit.record(session, actor, "case.lift", case.case_number, detail)
    return True


def record_override(session: Session, case: Case, actor: str, reason: str) -> None:
    """Audit an administrator opening a restricted case they are not named on."""
    detail: dict[str, object] = {"reason": clean_reason(reason)}
    audit.record(session, actor, "case.override", case.case_number, detail)
