"""Forwarding: one job per outbox row, one delivery attempt per run.

Each attempt is recorded (`ForwardingAttempt`); a refused or failed attempt
schedules the next one, with jitter, until the retries run out and the row
is dead-lettered for a person to retry from the console or the command line.
A status change waits until its case has reached the same target. A case
whose content was purged (retention, erasure) is never sent: the attempt is
dead-lettered, and so is any retry of it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from gateway import forwarders as fw
from gateway.cases.erasure import ERASED_EVENT
from gateway.cases.numbering import CaseNumber
from gateway.core.models import CaseEvent, ForwardingAttempt, OutboxEntry
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.forwarders.payload import (
    case_payload,
    erased_payload,
    escalation_payload,
    status_payload,
)
from gateway.work import claims

log = logging.getLogger(__name__)
STATUS_WAIT_SECONDS = 30
INTERRUPTED = "interrupted"  # an attempt whose worker died: the outcome is unknown
PURGED = "not sent: the case's content was purged"
ESCALATION = "escalation"  # an outbox row's kind: the e-mail alert of gateway/work/escalation.py


def enqueue_outbox(gw: Gateway, outbox_id: int, at: datetime | None = None) -> None:
    claims.enqueue(gw, "forwarding", forward, "forward", outbox_id, at=at)


def pending_outbox(gw: Gateway, case_id: int) -> list[int]:
    """The case's pending outbox rows, oldest first."""
    with gw.sessions() as session:
        return list(
            session.scalars(
                select(OutboxEntry.id)
                .where(OutboxEntry.case_id == case_id, OutboxEntry.state == WorkState.PENDING.value)
                .order_by(OutboxEntry.id)
            )
        )


def enqueue_case_outbox(gw: Gateway, case_id: int) -> None:
    """After commit: start the case's pending outbox rows (those not waiting for media)."""
    for outbox_id in pending_outbox(gw, case_id):
        enqueue_outbox(gw, outbox_id)


def forward(outbox_id: int) -> str:
    """One delivery attempt of one outbox row; schedules the next or dead-letters."""
    gw = current()
    wait_until = _case_not_yet_delivered(gw, outbox_id)
    if wait_until is not None:
        enqueue_outbox(gw, outbox_id, at=wait_until)
        return WorkState.WAITING.value
    lease = gw.settings.job_lease_seconds
    with gw.sessions() as session, session.begin():
        # Every finished attempt clears its lease: one still set means a worker died mid-attempt.
        stale = session.scalar(select(OutboxEntry.locked_until).where(OutboxEntry.id == outbox_id))
        if not claims.claim(session, OutboxEntry, outbox_id, lease, due=True):
            return "skipped"
        if stale is not None:
            session.add(
                ForwardingAttempt(
                    outbox_id=outbox_id,
                    attempted_at=stale - timedelta(seconds=lease),
                    duration_ms=0,
                    outcome=INTERRUPTED,
                    error="the worker stopped before the attempt finished",
                )
            )
    started = utcnow()
    try:
        with gw.sessions() as session:
            entry = session.get(OutboxEntry, outbox_id)
            assert entry is not None
            target, kind = entry.target, entry.kind
            case = entry.case
            external_id = case.external_id
            number = CaseNumber(case.year, case.sequence).display()
            payload: dict[str, Any] | None = None  # None: a purged case, never sent
            if kind == "case" and case.content_purged_at is not None:
                key = number
            elif kind == "case":
                payload, key = case_payload(gw, case, started), number
            elif kind == ERASED_EVENT:
                event = session.get(CaseEvent, entry.event_id)
                assert event is not None
                payload, key = erased_payload(case, event), f"{number}:{event.id}"
            elif kind == ESCALATION:
                event = session.get(CaseEvent, entry.event_id)
                assert event is not None
                payload, key = escalation_payload(case, event), f"{number}:{ESCALATION}"
            else:
                event = session.get(CaseEvent, entry.event_id)
                assert event is not None
                payload, key = status_payload(case, event), f"{number}:{event.id}"
        if payload is None:
            result = fw.Result(fw.Outcome.DEAD, None, PURGED)
        else:
            delivery = fw.Delivery(kind, payload, key, external_id)
            result = fw.build(target, gw.settings).deliver(delivery)
    except Exception as exc:  # noqa: BLE001 - a bug or bad config must not lose the case
        log.error("forwarding outbox %s raised %s", outbox_id, type(exc).__name__)
        result = fw.Result(fw.Outcome.RETRY, None, f"{type(exc).__name__} in forwarder")
    duration = int((utcnow() - started).total_seconds() * 1000)
    next_at = None
    with gw.sessions() as session, session.begin():
        entry = session.get(OutboxEntry, outbox_id)
        assert entry is not None
        attempt = entry.attempts
        session.add(
            ForwardingAttempt(
                outbox_id=outbox_id,
                attempted_at=started,
                duration_ms=duration,
                http_status=result.http_status,
                outcome=result.outcome.value,
                error=result.error,
            )
        )
        entry.locked_until = None
        entry.last_error = result.error
        if result.outcome is fw.Outcome.DELIVERED:
            entry.state = WorkState.DONE.value
            entry.delivered_at = utcnow()
        else:
            delay = None
            if result.outcome is fw.Outcome.RETRY:
                delay = claims.retry_delay(gw.settings.forward_retry_delays, attempt)
            if delay is None:
                entry.state = WorkState.DEAD.value
            else:
                next_at = utcnow() + timedelta(seconds=delay)
                entry.next_attempt_at = next_at
    if next_at is not None:
        enqueue_outbox(gw, outbox_id, at=next_at)
    log.info("outbox %s attempt %s: %s", outbox_id, attempt, result.outcome.value)
    return result.outcome.value


def _case_not_yet_delivered(gw: Gateway, outbox_id: int) -> datetime | None:
    """For a status event: when to look again if its case has not reached the target yet.

    A tracker must never hear of a status change of a case it does not have.
    """
    with gw.sessions() as session, session.begin():
        entry = session.get(OutboxEntry, outbox_id)
        # A case waits for nothing, and neither does an escalation alert.
        if entry is None or entry.kind in ("case", ESCALATION):
            return None
        if entry.state != WorkState.PENDING.value:
            return None
        case_entry = session.scalars(
            select(OutboxEntry).where(
                OutboxEntry.case_id == entry.case_id,
                OutboxEntry.target == entry.target,
                OutboxEntry.kind == "case",
            )
        ).first()
        if case_entry is None or case_entry.state == WorkState.DONE.value:
            return None
        later = max(utcnow(), case_entry.next_attempt_at) + timedelta(seconds=STATUS_WAIT_SECONDS)
        entry.next_attempt_at = later
        return later


def retry_dead(gw: Gateway, outbox_ids: list[int] | None = None) -> list[int]:
    """Put dead-lettered rows back to pending with a fresh set of attempts."""
    with gw.sessions() as session, session.begin():
        query = select(OutboxEntry).where(OutboxEntry.state == WorkState.DEAD.value)
        if outbox_ids is not None:
            query = query.where(OutboxEntry.id.in_(outbox_ids))
        rows = session.scalars(query).all()
        for row in rows:
            row.state = WorkState.PENDING.value
            row.attempts = 0
            row.next_attempt_at = utcnow()
            row.locked_until = None
        ids = [row.id for row in rows]
    for outbox_id in ids:
        enqueue_outbox(gw, outbox_id)
    return ids
