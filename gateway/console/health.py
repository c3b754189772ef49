"""Dead letters and health: what did not get through, and whether the machinery runs.

A forwarding that failed for good, or an inbound message that could not be
processed, stays in the database until a person looks at it here; the
retry buttons put it back to work with a fresh set of attempts.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, g, redirect, request, url_for
from rq import Worker
from sqlalchemy import func, select

from gateway.cases import audit
from gateway.cases.filing import display_number
from gateway.console import security
from gateway.console.pages import blueprint, render
from gateway.console.security import STAFF, allow
from gateway.core.models import Case, ForwardingAttempt, InboundEvent, OutboundMessage, OutboxEntry
from gateway.core.states import WorkState
from gateway.work.forwarding import retry_dead
from gateway.work.inbound import enqueue_inbound

LIST_LIMIT = 200


@dataclass(frozen=True)
class DeadForwarding:
    outbox_id: int
    number: str
    target: str
    kind: str
    attempts: int
    last_error: str | None
    last_attempt: datetime | None
    last_http: int | None


def _redis_figures(gw: Any) -> tuple[list[tuple[str, int, int]], list[dict[str, Any]], bool]:
    """(queue name, waiting, failed) per queue and the live workers; False if Redis is away."""
    try:
        queues = [(q.name, q.count, q.failed_job_registry.count) for q in gw.queues()]
        workers = [
            {
                "name": w.name,
                "state": w.get_state(),
                "heartbeat": w.last_heartbeat,
                "queues": ", ".join(w.queue_names()),
            }
            for w in Worker.all(connection=gw.redis)
        ]
    except Exception:  # noqa: BLE001 - the page must still show what the database knows
        return [], [], False
    return queues, workers, True


@blueprint.get("/health")
@allow(*STAFF)
def health() -> Response:
    gw = security.gateway()
    prefix = gw.settings.case_number_prefix
    with gw.sessions() as db:
        last_attempt = (
            select(
                ForwardingAttempt.outbox_id,
                func.max(ForwardingAttempt.id).label("attempt_id"),
            )
            .group_by(ForwardingAttempt.outbox_id)
            .subquery()
        )
        rows = db.execute(
            select(OutboxEntry, Case, ForwardingAttempt)
            .join(Case, Case.id == OutboxEntry.case_id)
            .outerjoin(last_attempt, last_attempt.c.outbox_id == OutboxEntry.id)
            .outerjoin(ForwardingAttempt, ForwardingAttempt.id == last_attempt.c.attempt_id)
            .where(OutboxEntry.state == WorkState.DEAD.value)
            .order_by(OutboxEntry.id.desc())
            .limit(LIST_LIMIT)
        ).all()
        dead = [
            DeadForwarding(
                entry.id,
                display_number(case, prefix),
                entry.target,
                entry.kind,
                entry.attempts,
                entry.last_error,
                attempt.attempted_at if attempt else None,
                attempt.http_status if attempt else None,
            )
            for entry, case, attempt in rows
        ]
        inbound = db.scalars(
            select(InboundEvent)
            .where(InboundEvent.state == WorkState.DEAD.value)
            .order_by(InboundEvent.id.desc())
            .limit(LIST_LIMIT)
        ).all()
        dead_inbound = [
            (e.id, e.channel, e.provider, e.attempts, e.last_error, e.received_at) for e in inbound
        ]
        dead_outbound = dict(
            db.execute(
                select(OutboundMessage.channel, func.count())
                .where(OutboundMessage.state == WorkState.DEAD.value)
                .group_by(OutboundMessage.channel)
            ).all()
        )
        last_inbound = dict(
            db.execute(
                select(InboundEvent.channel, func.max(InboundEvent.received_at)).group_by(
                    InboundEvent.channel
                )
            ).all()
        )
        last_case = dict(
            db.execute(
                select(Case.channel, func.max(Case.received_at)).group_by(Case.channel)
            ).all()
        )
    queues, workers, redis_ok = _redis_figures(gw)
    channels = sorted(set(last_inbound) | set(last_case))
    return render(
        "health.html",
        dead=dead,
        dead_inbound=dead_inbound,
        dead_outbound=dead_outbound,
        queues=queues,
        workers=workers,
        redis_ok=redis_ok,
        channels=[(c, last_inbound.get(c), last_case.get(c)) for c in channels],
        ok=request.args.get("ok"),
    )


@blueprint.post("/health/retry-forwarding")
@allow(*STAFF)
def retry_forwarding() -> Response:
    """Retry one dead-lettered forwarding (outbox_id) or all of them."""
    gw = security.gateway()
    wanted = request.form.get("outbox_id", "")
    ids = [int(wanted)] if wanted.isdigit() else None
    retried = retry_dead(gw, ids)
    with gw.sessions() as db, db.begin():
        audit.record(db, g.console_user.username, "forwarding.retry", None, {"outbox": retried})
    return redirect(url_for("console.health", ok=str(len(retried))))  # type: ignore[return-value]


@blueprint.post("/health/retry-inbound")
@allow(*STAFF)
def retry_inbound() -> Response:
    """Give a dead-lettered inbound message a fresh set of attempts."""
    gw = security.gateway()
    wanted = request.form.get("event_id", "")
    ids: list[int] = []
    with gw.sessions() as db, db.begin():
        query = select(InboundEvent).where(InboundEvent.state == WorkState.DEAD.value)
        if wanted.isdigit():
            query = query.where(InboundEvent.id == int(wanted))
        for event in db.scalars(query):
            event.state = WorkState.PENDING.value
            event.attempts = 0
            event.locked_until = None
            ids.append(event.id)
        audit.record(db, g.console_user.username, "inbound.retry", None, {"events": ids})
    for event_id in ids:
        with contextlib.suppress(Exception):  # pending again: the sweeper enqueues it otherwise
            enqueue_inbound(gw, event_id)
    return redirect(url_for("console.health", ok=str(len(ids))))  # type: ignore[return-value]
