"""RQ jobs. Each takes one row id, takes the row's lease, works, records.

Jobs are idempotent: a job run twice (Redis holding it twice, the sweeper
re-enqueueing after a crash) finds the row done or leased and returns.
They log ids and outcomes, never content.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from gateway import forwarders as fw
from gateway.cases.numbering import CaseNumber
from gateway.core.models import (
    CaseEvent,
    ForwardingAttempt,
    InboundEvent,
    OutboundMessage,
    OutboxEntry,
    WorkState,
    utcnow,
)
from gateway.core.runtime import Gateway, current
from gateway.forwarders.payload import case_payload, status_payload
from gateway.work import claims as work
from gateway.work import cleanup, outbound
from gateway.work import dispatch as handlers

log = logging.getLogger(__name__)
JITTER = 0.2
MAX_INBOUND_ATTEMPTS = 10
STATUS_WAIT_SECONDS = 30
INTERRUPTED = "interrupted"  # an attempt whose worker died: the outcome is unknown


# --- enqueueing ------------------------------------------------------------


def enqueue_inbound(gw: Gateway, event_id: int) -> None:
    work.enqueue(gw, "intake", process_inbound, "inbound", event_id)


def enqueue_new_inbound(gw: Gateway, event_ids: list[int]) -> None:
    """Events intake has just inserted: no job can be waiting for them yet."""
    work.enqueue_new(gw, "intake", process_inbound, "inbound", event_ids)


def enqueue_outbox(gw: Gateway, outbox_id: int, at: datetime | None = None) -> None:
    work.enqueue(gw, "forwarding", forward, "forward", outbox_id, at=at)


def enqueue_outbound(gw: Gateway, message_id: int, at: datetime | None = None) -> None:
    work.enqueue(gw, "outbound", send_outbound, "outbound", message_id, at=at)


def retry_delay(delays: tuple[int, ...], attempt: int) -> float | None:
    """Seconds before attempt `attempt + 1` (with ±20 % jitter), None after the last."""
    if attempt > len(delays):
        return None
    base = delays[attempt - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


# --- inbound messages --------------------------------------------------------


def process_inbound(event_id: int) -> str:
    """Hand one stored inbound message to its channel's handler.

    A handler that raises leaves the event pending for the sweeper; after
    MAX_INBOUND_ATTEMPTS the event is dead-lettered (kept, visible in the
    metrics and the console) instead of being retried for ever.
    """
    gw = current()
    with gw.sessions() as session, session.begin():
        if not work.claim(session, InboundEvent, event_id, gw.settings.job_lease_seconds):
            return "skipped"
    try:
        with gw.sessions() as session, session.begin():
            event = session.get(InboundEvent, event_id)
            assert event is not None
            effects = handlers.handle(session, gw, event)
            event.state = WorkState.DONE.value
            event.processed_at = utcnow()
            event.locked_until = None
            event.last_error = None
            cleanup_id = cleanup.schedule(
                session, event.provider, event.provider_message_id, inbound_event_id=event.id
            )
    except Exception as exc:  # noqa: BLE001 - recorded; the exception text may hold content
        log.error("inbound event %s failed: %s", event_id, type(exc).__name__)
        with gw.sessions() as session, session.begin():
            event = session.get(InboundEvent, event_id)
            assert event is not None
            event.last_error = type(exc).__name__
            event.locked_until = None
            if event.attempts >= MAX_INBOUND_ATTEMPTS:
                event.state = WorkState.DEAD.value
        return "failed"
    effects.run(gw)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id)
    log.info("inbound event %s processed", event_id)
    return "done"


# --- forwarding --------------------------------------------------------------


def forward(outbox_id: int) -> str:
    """One delivery attempt of one outbox row; schedules the next or dead-letters."""
    gw = current()
    wait_until = _case_not_yet_delivered(gw, outbox_id)
    if wait_until is not None:
        enqueue_outbox(gw, outbox_id, at=wait_until)
        return "waiting"
    lease = gw.settings.job_lease_seconds
    with gw.sessions() as session, session.begin():
        # Every finished attempt clears its lease: one still set means a worker died mid-attempt.
        stale = session.scalar(select(OutboxEntry.locked_until).where(OutboxEntry.id == outbox_id))
        if not work.claim(session, OutboxEntry, outbox_id, lease, due=True):
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
            if kind == "case":
                payload, key = case_payload(gw, case, started), number
            else:
                event = session.get(CaseEvent, entry.event_id)
                assert event is not None
                payload, key = status_payload(case, event), f"{number}:{event.id}"
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
                delay = retry_delay(gw.settings.forward_retry_delays, attempt)
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
        if entry is None or entry.kind == "case" or entry.state != WorkState.PENDING.value:
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


# --- messages to reporters -------------------------------------------------


def send_outbound(message_id: int) -> str:
    """Send one message to a reporter through the provider it came from."""
    gw = current()
    with gw.sessions() as session, session.begin():
        if not work.claim(
            session, OutboundMessage, message_id, gw.settings.job_lease_seconds, due=True
        ):
            return "skipped"
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        provider, attempt = message.provider, message.attempts
        address = gw.cipher.decrypt(message.address_enc).decode()
        body = gw.cipher.decrypt(message.body_enc).decode()
    error, provider_id, permanent, cleanup_id = None, None, False, None
    try:
        provider_id = outbound.send(gw.settings, provider, address, body, message_id)
    except outbound.PermanentSendError as exc:
        error, permanent = str(exc)[:500], True
    except Exception as exc:  # noqa: BLE001 - provider down: retry later
        error = type(exc).__name__
    next_at = None
    with gw.sessions() as session, session.begin():
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        message.locked_until = None
        message.last_error = error
        if error is None:
            message.state = WorkState.DONE.value
            message.sent_at = utcnow()
            message.provider_message_id = provider_id
            # Sent: the text (it may hold a PIN) and the address are no longer needed.
            message.body_enc = gw.cipher.encrypt(b"")
            message.address_enc = gw.cipher.encrypt(b"")
            # The provider's copy goes once it reports delivery, or after the fallback.
            cleanup_id = cleanup.schedule(
                session, provider, provider_id, delay=cleanup.FALLBACK_DELAY
            )
        else:
            delay = None if permanent else retry_delay(gw.settings.forward_retry_delays, attempt)
            if delay is None:
                message.state = WorkState.DEAD.value
            else:
                next_at = utcnow() + timedelta(seconds=delay)
                message.next_attempt_at = next_at
    if next_at is not None:
        enqueue_outbound(gw, message_id, at=next_at)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id, at=utcnow() + cleanup.FALLBACK_DELAY)
    log.info(
        "outbound %s attempt %s: %s", message_id, attempt, "sent" if error is None else "failed"
    )
    return "sent" if error is None else "failed"
