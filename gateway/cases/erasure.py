"""An administrator erases one case at once: spam, or a reporter who withdraws.

`erase_case` does it in the caller's transaction: the content goes as after
the retention period (gateway/cases/tombstone.py), the case is closed and
marked `erased_at`, its PIN stops working (a status look-up answers as for
an unknown case), an `erased` event joins its history, the statistics'
day is counted again without it (gateway/cases/daily_counts.py), and the
audit trail records who, when and the reason given.

The case tracker: a target that has the case gets a `case_erased` event
through the outbox (signed like a status change). A target the case has not
reached yet never gets it: its row is dead-lettered with a note, and
forwarding refuses to send a purged case even when retried
(gateway/work/forwarding.py). A row being sent at this very moment may
still arrive; the event then follows it once it is delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases import audit, daily_counts, numbering
from gateway.cases.filing import STATUS_EVENT_TARGETS
from gateway.cases.tombstone import purge_case_content
from gateway.core.models import Case, CaseEvent, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.core.states import CaseEventKind, CaseStatus, WorkState

ERASED_EVENT = "case_erased"  # the outbox kind and the event the tracker receives
MAX_REASON = 500
NOT_SENT = "not sent: the case was erased before it reached this target"


class AlreadyErased(Exception):
    """The case was erased before; nothing changes."""


@dataclass(frozen=True)
class Erased:
    case_id: int
    event_id: int
    outbox_ids: list[int]  # case_erased rows to enqueue after the commit


def clean_reason(text: str | None) -> str | None:
    """The reason as stored, or None when it is missing or longer than MAX_REASON."""
    reason = " ".join((text or "").split())
    return reason if reason and len(reason) <= MAX_REASON else None


def erase_case(
    session: Session, gw: Gateway, case: Case, actor: str, reason: str, now: datetime
) -> Erased:
    """Erase `case` now (see the module's docstring); the audit entry is written last.

    Raises AlreadyErased for a case erased before.
    """
    session.refresh(case, with_for_update=True)  # a media download finishing waits for us
    if case.erased_at is not None:
        raise AlreadyErased()
    before = case.status
    purge_case_content(session, gw.cipher, case, now)
    case.erased_at = now
    case.pin_hash = numbering.hash_pin(numbering.new_pin())  # a PIN nobody knows
    case.awaiting_answer_since = None
    if case.status != CaseStatus.CLOSED.value:
        case.status = CaseStatus.CLOSED.value
        case.closed_at = now
    event = CaseEvent(
        case_id=case.id,
        kind=CaseEventKind.ERASED.value,
        status=CaseStatus.CLOSED.value,
        actor=actor,
        created_at=now,
    )
    session.add(event)
    session.flush()
    outbox_ids = _tell_targets(session, gw, case, event, now)
    daily_counts.mark_stale(session, case.received_at)  # erased cases leave the statistics
    audit.record(
        session,
        actor,
        "case.erase",
        case.case_number,
        {"reason": reason, "status_before": before, "event": event.id},
    )
    return Erased(case.id, event.id, outbox_ids)


def _tell_targets(
    session: Session, gw: Gateway, case: Case, event: CaseEvent, now: datetime
) -> list[int]:
    rows = session.scalars(
        select(OutboxEntry).where(OutboxEntry.case_id == case.id, OutboxEntry.kind == "case")
    ).all()
    added = []
    for row in rows:
        in_flight = row.locked_until is not None and row.locked_until > now
        if row.state != WorkState.DONE.value and not in_flight:
            row.state = WorkState.DEAD.value
            row.last_error = NOT_SENT
            continue
        if row.target in STATUS_EVENT_TARGETS:
            entry = OutboxEntry(
                case_id=case.id, target=row.target, kind=ERASED_EVENT, event_id=event.id
            )
            session.add(entry)
            added.append(entry)
    session.flush()
    return [entry.id for entry in added]
