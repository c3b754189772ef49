"""When a case's forwarding may go: only once every file sent with it is dealt with.

A case filed with media has its outbox rows `WAITING`; each finished
download (stored, or given up on) asks whether any download of the case is
still pending, and when none is, the rows become `PENDING` for the worker
to enqueue after the commit. Pure database work, inside the caller's
transaction. `forwarding_summary` says in one word where a case's forwarding stands,
for the console's queue and `cases list`.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.core.models import MediaDownload, OutboxEntry
from gateway.core.schema import utcnow
from gateway.core.states import WorkState


def release_forwarding(session: Session, case_id: int) -> bool:
    """Let the case's forwarding go once no download of it is pending; True when it may."""
    pending = session.scalar(
        select(func.count())
        .select_from(MediaDownload)
        .where(MediaDownload.case_id == case_id, MediaDownload.state == WorkState.PENDING.value)
    )
    if pending:
        return False
    session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.case_id == case_id, OutboxEntry.state == WorkState.WAITING.value)
        .values(state=WorkState.PENDING.value, next_attempt_at=utcnow())
    )
    return True


def forwarding_summary(states: list[str]) -> str:
    """One word for a case's outbox rows: none, dead, pending (waiting included) or delivered."""
    if not states:
        return "none"
    if WorkState.DEAD.value in states:
        return "dead"
    if any(state != WorkState.DONE.value for state in states):
        return "pending"
    return "delivered"
