"""Who waits on whom: an urgent case nobody has opened, a reporter waiting for an answer.

`first_opened_at` is set once, by the first view of the case page in the
console; `awaiting_answer_since` when a reporter writes and nobody has
answered yet, cleared by a message to the reporter or by closing the case.
The sweeper (gateway/work/escalation.py) and the console's queue read them
through the clauses here, so both call a case escalated or due alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session

from gateway.core.models import Case
from gateway.core.states import CaseEventKind, CaseStatus

URGENT = or_(
    Case.danger_now.is_(True), Case.child_involved.is_(True), Case.victim_age_group == "minor"
)
OPEN = Case.status != CaseStatus.CLOSED.value
# Escalated and still not opened: what the queue marks and its filter shows.
ESCALATED = and_(OPEN, Case.first_opened_at.is_(None), Case.escalated_at.is_not(None))


def mark_opened(session: Session, case: Case, at: datetime) -> None:
    """The first console view of a case; later views write nothing."""
    if case.first_opened_at is not None:
        return
    session.execute(
        update(Case)
        .where(Case.id == case.id, Case.first_opened_at.is_(None))
        .values(first_opened_at=at)
        .execution_options(synchronize_session=False)
    )


def note_event(case: Case, kind: str, at: datetime) -> None:
    """Keep `awaiting_answer_since` with a case event: the reporter wrote, or was answered."""
    if kind == CaseEventKind.MESSAGE_FROM_REPORTER.value:
        if case.awaiting_answer_since is None and case.status != CaseStatus.CLOSED.value:
            case.awaiting_answer_since = at
    elif kind == CaseEventKind.MESSAGE_TO_REPORTER.value:
        case.awaiting_answer_since = None


def answer_due(cutoff: datetime) -> Any:
    """Open cases whose reporter has waited for an answer since before `cutoff`."""
    return and_(OPEN, Case.awaiting_answer_since < cutoff)


def due_cutoff(now: datetime, response_due_days: float) -> datetime:
    """Reporters waiting since before this are due an answer."""
    return now - timedelta(days=response_due_days)


def is_escalated(case: Case) -> bool:
    """ESCALATED, for a case already loaded."""
    open_ = case.status != CaseStatus.CLOSED.value
    return open_ and case.first_opened_at is None and case.escalated_at is not None


def is_answer_due(case: Case, cutoff: datetime) -> bool:
    """answer_due(cutoff), for a case already loaded."""
    since = case.awaiting_answer_since
    return case.status != CaseStatus.CLOSED.value and since is not None and since < cutoff
