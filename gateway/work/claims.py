"""Leases on rows and jobs in RQ: how work is never lost and never done twice.

A job receives a row id. Before working it takes a lease on the row with one
conditional UPDATE (state still pending, no live lease, due): at most one
worker wins, even when Redis holds the same job twice. A worker killed
mid-job leaves a lease that expires; the sweeper then enqueues the row again.
RQ job ids are derived from the row (`forward-42`), so re-enqueueing a job
that is still waiting is seen and skipped. Each enqueue is one pipelined
Redis round trip (plus the look-up, for a row that may already have a job).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rq.job import Job, JobStatus
from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import WorkState

JITTER = 0.2  # retries spread ±20 % so that a burst of failures does not come back at once
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
# RQ keeps a failed job (and its arguments, here only ids) a year by default.
JOB_OPTIONS: dict[str, Any] = {"result_ttl": 3600, "failure_ttl": 7 * 86400, "ttl": 7 * 86400}


def claim(
    session: Session, model: type, row_id: int, lease_seconds: int, due: bool = False
) -> bool:
    """Take the lease on a pending row; True when this caller won it."""
    now = utcnow()
    conditions = [
        model.id == row_id,
        model.state == WorkState.PENDING.value,
        or_(model.locked_until.is_(None), model.locked_until < now),
    ]
    if due:
        conditions.append(model.next_attempt_at <= now + timedelta(seconds=1))
    result = session.execute(
        update(model)
        .where(*conditions)
        .values(locked_until=now + timedelta(seconds=lease_seconds), attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def retry_delay(delays: tuple[int, ...], attempt: int) -> float | None:
    """Seconds before attempt `attempt + 1` (with ±20 % jitter), None after the last."""
    if attempt > len(delays):
        return None
    base = delays[attempt - 1]
    return base * random.uniform(1 - JITTER, 1 + JITTER)


def job_id(kind: str, row_id: int) -> str:
    return f"{kind}-{row_id}"


_LIVE = frozenset(status.value.encode() for status in LIVE_STATUSES)


def waiting(gw: Gateway, jids: list[str]) -> list[bool]:
    """For each job id, whether that job still waits to run; one round trip.

    Only each job's status and whether it has its function and arguments are
    read (`HMGET rq:job:<id> status data`), not the whole job: the sweeper
    asks this every pass for every pending row, a thousand in a burst, and
    building RQ's job objects for them cost the worker a tenth of its time
    (bench/README.md, burst). A half-written job hash (no status, or no
    data: RQ could not run it) counts as not waiting, and is replaced.
    """
    if not jids:
        return []
    with gw.redis.pipeline(transaction=False) as pipe:
        for jid in jids:
            pipe.hmget(Job.key_for(jid), "status", "data")
        return [status in _LIVE and bool(data) for status, data in pipe.execute()]


def enqueue(
    gw: Gateway,
    queue_name: str,
    func: Callable[..., Any],
    kind: str,
    row_id: int,
    at: datetime | None = None,
) -> None:
    """Enqueue `func(row_id)` unless a job for that row is already waiting."""
    jid = job_id(kind, row_id)
    if waiting(gw, [jid])[0]:
        return
    queue = gw.queue(queue_name)
    with gw.redis.pipeline() as pipe:
        if at is not None and at > utcnow():
            queue.enqueue_at(at, func, row_id, job_id=jid, pipeline=pipe, **JOB_OPTIONS)
        else:
            queue.enqueue_call(func, (row_id,), job_id=jid, pipeline=pipe, **JOB_OPTIONS)
        pipe.execute()


def enqueue_new(
    gw: Gateway, queue_name: str, func: Callable[..., Any], kind: str, row_ids: list[int]
) -> None:
    """Enqueue `func(row_id)` for rows the caller has just inserted, in one Redis round trip.

    A row inserted a moment ago has no job to look for: its id is new, so
    the lookup that `enqueue` makes is skipped (the webhook path's cost).
    Should an id be reused (SQLite may reuse the id of a deleted last row)
    and a job of the old row still wait, the row's job runs twice, and the
    second run finds the lease taken or the row done.
    """
    queue = gw.queue(queue_name)
    with gw.redis.pipeline() as pipe:
        for row_id in row_ids:
            jid = job_id(kind, row_id)
            queue.enqueue_call(func, (row_id,), job_id=jid, pipeline=pipe, **JOB_OPTIONS)
        pipe.execute()


def enqueue_missing(
    gw: Gateway, queue_name: str, func: Callable[..., Any], kind: str, row_ids: list[int]
) -> int:
    """Enqueue `func(row_id)` for each row that has no job waiting; how many were enqueued.

    What `enqueue` does for one row, for many in two round trips (one look-up of
    every job, one pipeline of the missing ones): the sweeper's pass over a burst,
    where most rows already wait in a queue, cost a round trip per row.
    """
    if not row_ids:
        return 0
    jids = [job_id(kind, row_id) for row_id in row_ids]
    live = waiting(gw, jids)
    missing = [row_id for row_id, alive in zip(row_ids, live, strict=True) if not alive]
    if missing:
        enqueue_new(gw, queue_name, func, kind, missing)
    return len(missing)
