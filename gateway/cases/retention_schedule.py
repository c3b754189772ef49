"""What the retention purge will remove, and when (`complaint-gateway retention report`).

Case numbers and dates only, never content. A closed case is purged
RETENTION_DAYS after it was closed (gateway/work/retention.py); an open case
has no date yet, and a closed case that a target has not received yet waits
with its content until it has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from gateway.cases.numbering import CaseNumber
from gateway.core.models import Case, OutboxEntry
from gateway.core.states import CaseStatus, WorkState


def still_to_forward() -> ColumnElement[bool]:
    """A WHERE clause on Case: a target has not received the case yet.

    Such a case keeps its content past its retention until it has: closing a
    case does not make the tracker's copy arrive, and purging it first would
    leave a report that reached nobody. A dead-lettered forwarding (retried
    by hand, `forwarding retry`) waits too.
    """
    return exists(
        select(OutboxEntry.id).where(
            OutboxEntry.case_id == Case.id,
            OutboxEntry.kind == "case",
            OutboxEntry.state != WorkState.DONE.value,
        )
    )


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@dataclass
class Schedule:
    retention_days: int
    purged: int = 0  # tombstones already (retention or erasure)
    erased: int = 0
    open_cases: int = 0  # no purge date until they are closed
    waiting_to_forward: int = 0  # closed, kept until a target has received them
    due: list[tuple[str, datetime, datetime]] = field(default_factory=list)  # number, closed, purge

    def due_now(self, now: datetime) -> int:
        return sum(1 for _, _, at in self.due if at <= now)

    def by_month(self) -> dict[str, int]:
        return dict(sorted(Counter(at.strftime("%Y-%m") for _, _, at in self.due).items()))

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "retention_days": self.retention_days,
            "already_purged": self.purged,
            "erased": self.erased,
            "open_cases": self.open_cases,
            "waiting_to_forward": self.waiting_to_forward,
            "due_now": self.due_now(now),
            "by_month": self.by_month(),
            "cases": [
                {"case_number": number, "closed_at": _iso(closed), "purge_at": _iso(at)}
                for number, closed, at in self.due
            ],
        }


def schedule(session: Session, retention_days: int, prefix: str = "") -> Schedule:
    """The closed cases still holding content, each with the moment of its purge."""
    report = Schedule(retention_days)
    report.purged = session.scalar(
        select(func.count()).select_from(Case).where(Case.content_purged_at.is_not(None))
    )
    report.erased = session.scalar(
        select(func.count()).select_from(Case).where(Case.erased_at.is_not(None))
    )
    report.open_cases = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.status != CaseStatus.CLOSED.value, Case.content_purged_at.is_(None))
    )
    report.waiting_to_forward = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.content_purged_at.is_(None),
            Case.status == CaseStatus.CLOSED.value,
            still_to_forward(),
        )
    )
    rows = session.execute(
        select(Case.year, Case.sequence, Case.closed_at)
        .where(
            Case.content_purged_at.is_(None),
            Case.status == CaseStatus.CLOSED.value,
            Case.closed_at.is_not(None),
        )
        .order_by(Case.closed_at, Case.id)
    ).all()
    keep = timedelta(days=retention_days)
    report.due = [
        (CaseNumber(year, sequence).display(prefix), closed, closed + keep)
        for year, sequence, closed in rows
    ]
    return report
