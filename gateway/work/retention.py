"""Retention: what the gateway stops keeping, and when.

Run by the sweeper (`retention_step`, no outside cron needed) and by
`complaint-gateway purge` (`purge`, everything at once):

- Closed cases: RETENTION_DAYS (default 730, may be 0) after closing, the
  statement, messages, notes and attachments go and the case stays as a
  tombstone (gateway/cases/tombstone.py), with a `content_purged` event and
  one audit entry (actor "system") per batch naming the cases. Every sweep,
  in batches, through an index: cheap when there is nothing to do.
- Reply addresses: as soon as a case is closed (see cases.set_status; a
  closed case still holding one loses it here). An open case keeps its
  address while it is open: the reporter agreed to follow-up.
- Raw inbound payloads (they hold the sender's address): once processed and
  older than GATEWAY_INBOUND_RETENTION_DAYS (default 7); the row stays, empty,
  so a late redelivery is still recognised as a duplicate.
- Messages to reporters: the text and address once sent (done in the job) and
  for any message older than the inbound retention.
The last three run once a day in the sweeper (they rewrite rows already blank).
`report` says what the closed-case purge will do, and when.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from gateway.cases import audit
from gateway.cases.retention_schedule import still_to_forward
from gateway.cases.tombstone import purge_case_content
from gateway.core.models import Case, CaseEvent, InboundEvent, OutboundMessage
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, CaseStatus, WorkState

log = logging.getLogger(__name__)
BATCH = 200  # cases purged in one transaction
SWEEP_BATCHES = 5  # at most this many batches in one sweep; the rest in the next
DAILY_KEY = "complaint-gateway:retention:daily"
SYSTEM = "system"


def cutoff_of(gw: Gateway, now: datetime) -> datetime:
    """Cases closed at or before this moment are past their retention."""
    return now - timedelta(days=gw.settings.retention_days)


def _purge_batch(gw: Gateway, now: datetime) -> int:
    with gw.sessions() as session, session.begin():
        cases = session.scalars(
            select(Case)
            .where(
                Case.content_purged_at.is_(None),
                Case.status == CaseStatus.CLOSED.value,
                Case.closed_at.is_not(None),
                Case.closed_at <= cutoff_of(gw, now),
                ~still_to_forward(),
            )
            .order_by(Case.closed_at, Case.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)  # one being erased now: the next sweep
        ).all()
        for case in cases:
            purge_case_content(session, gw.cipher, case, now)
            session.add(
                CaseEvent(
                    case_id=case.id,
                    kind=CaseEventKind.CONTENT_PURGED.value,
                    actor=SYSTEM,
                    created_at=now,
                )
            )
        if cases:
            numbers = [c.case_number for c in cases]
            detail: dict[str, object] = {
                "cases": numbers,
                "retention_days": gw.settings.retention_days,
            }
            audit.record(session, SYSTEM, "retention.purge", None, detail)
    return len(cases)


def purge_closed_cases(gw: Gateway, now: datetime | None = None, batches: int | None = None) -> int:
    """Purge the closed cases past RETENTION_DAYS, `batches` batches at most; how many."""
    now = now or utcnow()
    total, done = 0, 0
    while batches is None or done < batches:
        count = _purge_batch(gw, now)
        total, done = total + count, done + 1
        if count < BATCH:
            break
    if total:
        log.info("retention: %s closed cases purged to their tombstone", total)
    return total


def purge_old_traces(gw: Gateway, now: datetime | None = None) -> dict[str, int]:
    """Reply addresses of closed cases, old raw payloads and sent messages."""
    now = now or utcnow()
    inbound_days = int(gw.settings.get("GATEWAY_INBOUND_RETENTION_DAYS", "7") or 7)
    inbound_cutoff = now - timedelta(days=inbound_days)
    empty = gw.cipher.encrypt_json({})
    blank = gw.cipher.encrypt(b"")
    with gw.sessions() as session, session.begin():
        addresses = session.execute(
            update(Case)
            .where(Case.reply_address_enc.is_not(None), Case.status == CaseStatus.CLOSED.value)
            .values(reply_address_enc=None, purged_at=now)
        ).rowcount
        inbound = session.execute(
            update(InboundEvent)
            .where(
                InboundEvent.state != WorkState.PENDING.value,
                InboundEvent.created_at < inbound_cutoff,
                InboundEvent.processed_at.is_not(None),
            )
            .values(payload_enc=empty)
        ).rowcount
        outbound = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.state != WorkState.PENDING.value,
                OutboundMessage.created_at < inbound_cutoff,
            )
            .values(body_enc=blank, address_enc=blank)
        ).rowcount
    return {
        "reply addresses": addresses,
        "inbound payloads": inbound,
        "outbound messages": outbound,
    }


def purge(gw: Gateway) -> dict[str, int]:
    """Everything the retention rules allow no longer to keep (`complaint-gateway purge`)."""
    counts = purge_old_traces(gw)
    counts["closed cases"] = purge_closed_cases(gw)
    return counts


def retention_step(gw: Gateway) -> int:
    """The sweeper's share: closed cases every sweep, the old traces once a day.

    A failure is logged and left to the next sweep: the rest of the sweep
    (the statistics' recount) must not wait on it.
    """
    try:
        purged = purge_closed_cases(gw, batches=SWEEP_BATCHES)
        if gw.redis.set(DAILY_KEY, "1", nx=True, ex=24 * 3600):
            purge_old_traces(gw)
    except Exception as exc:  # noqa: BLE001 - database or Redis away: the next sweep
        log.warning("retention purge failed (%s); next sweep", type(exc).__name__)
        return 0
    return purged
