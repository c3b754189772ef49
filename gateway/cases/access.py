"""Who may see a case: every console user, unless the case is restricted.

A focal point or administrator can restrict a case to named users (a
conflict of interest: the accused's unit, a colleague involved). Other
users see "restricted" in the queue and get 403 on its pages, attachments
and exports; an administrator may override with a reason, audited. Every
page, download and export asks `may_open` (one case) or filters with
`visible` (many).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from gateway.core.models import Case, CaseAccess


def visible(user_id: int) -> ColumnElement[bool]:
    """A WHERE clause on Case: the cases this user may open without an override."""
    named = exists(
        select(CaseAccess.id).where(CaseAccess.case_id == Case.id, CaseAccess.user_id == user_id)
    )
    return or_(Case.restricted.is_(False), named)


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
