"""The sweeper: finds work the database says is not done, and enqueues it again.

Redis can lose its data and a worker can die mid-job; the database cannot
forget. Every SWEEP_INTERVAL_SECONDS one sweeper (a Redis lock elects it
among all workers) enqueues inbound events, outbox rows and outbound
messages that are pending, due and not leased, and likewise media downloads
and provider cleanups. Enqueueing is idempotent and
jobs take leases, so a sweep that overlaps a live job changes nothing.
It also counts again the statistics' days that changes marked
(gateway/cases/daily_counts.py), escalates urgent cases nobody opened in
time (gateway/work/escalation.py), and purges closed cases past their
retention to tombstones (gateway/work/retention.py).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.cases import daily_counts
from gateway.cases.lookup import forget_old_failures
from gateway.core.models import (
    InboundEvent,
    MediaDownload,
    OutboundMessage,
    OutboxEntry,
    ProviderCleanup,
)
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.work import claims, cleanup, spool
from gateway.work.escalation import escalate
from gateway.work.forwarding import forward
from gateway.work.inbound import process_inbound
from gateway.work.media_fetch import enqueue as enqueue_media
from gateway.work.outbound import send_outbound
from gateway.work.retention import retention_step
from gateway.work.silence import enqueue_silent

log = logging.getLogger(__name__)
LOCK_KEY = "complaint-gateway:sweeper"
BATCH = 1000
# Rows younger than this are left to the process that wrote them to enqueue.
GRACE = timedelta(seconds=5)


@dataclass
class SweepResult:
    inbound: int = 0
    forwarding: int = 0
    outbound: int = 0
    extra: int = 0
    recounted: int = 0  # days of daily counts counted again
    ids: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.inbound + self.forwarding + self.outbound + self.extra + self.recounted


def _due_ids(session: Session, model: type, has_schedule: bool) -> list[int]:
    now = utcnow()
    query = select(model.id).where(
        model.state == WorkState.PENDING.value,
        or_(model.locked_until.is_(None), model.locked_until < now),
        model.created_at < now - GRACE,
    )
    if has_schedule:
        query = query.where(model.next_attempt_at <= now)
    return list(session.scalars(query.order_by(model.id).limit(BATCH)))


def sweep(gw: Gateway) -> SweepResult:
    """One pass over the unfinished work; returns what it enqueued."""
    spool.load(gw)
    with gw.sessions() as session:
        inbound = _due_ids(session, InboundEvent, has_schedule=False)
        outbox = _due_ids(session, OutboxEntry, has_schedule=True)
        outbound = _due_ids(session, OutboundMessage, has_schedule=True)
        media = _due_ids(session, MediaDownload, has_schedule=True)
        cleanups = _due_ids(session, ProviderCleanup, has_schedule=True)
    # Two round trips a table: in a burst most of these rows wait in a queue already.
    claims.enqueue_missing(gw, "intake", process_inbound, "inbound", inbound)
    claims.enqueue_missing(gw, "forwarding", forward, "forward", outbox)
    claims.enqueue_missing(gw, "outbound", send_outbound, "outbound", outbound)
    for download_id in media:
        enqueue_media(gw, download_id)
    for cleanup_id in cleanups:
        cleanup.enqueue(gw, cleanup_id)
    forget_old_failures(gw)
    extra = len(media) + len(cleanups) + enqueue_silent(gw)
    extra += escalate(gw)  # urgent cases nobody opened in time: one alert each
    extra += retention_step(gw)  # closed cases past RETENTION_DAYS become tombstones
    recounted = daily_counts.refresh(gw.sessions)
    result = SweepResult(len(inbound), len(outbox), len(outbound), extra, recounted)
    result.ids = {"inbound": inbound, "forwarding": outbox, "outbound": outbound}
    if result.total:
        log.info(
            "sweep enqueued %s inbound, %s forwarding, %s outbound, %s other;"
            " counted %s days of statistics again",
            result.inbound,
            result.forwarding,
            result.outbound,
            result.extra,
            result.recounted,
        )
    return result


class SweeperThread(threading.Thread):
    """Runs `sweep` every interval in a worker process, when it holds the lock."""

    def __init__(self, gw: Gateway) -> None:
        super().__init__(name="sweeper", daemon=True)
        self.gw = gw
        self.stopping = threading.Event()

    def run(self) -> None:
        interval = self.gw.settings.sweep_interval_seconds
        while not self.stopping.is_set():
            try:
                if self.gw.redis.set(LOCK_KEY, "1", nx=True, ex=max(1, interval - 1)):
                    sweep(self.gw)
            except Exception:  # noqa: BLE001 - Redis or the database away: try next time
                log.warning("sweep failed; retrying in %ss", interval, exc_info=True)
            self.stopping.wait(interval)

    def stop(self) -> None:
        self.stopping.set()
