"""Jobs queued under the functions' old dotted paths still run after the upgrade.

RQ keeps the function's path in each queued job; the worker rewrites the
old paths (gateway.work.job_paths) before it starts working. Each job here
is enqueued the way the old code did, with its old path, its own job id and
its queue: waiting in the queue, scheduled for later, or deferred behind
another job.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rq.job import Job, JobStatus

from gateway.core.inbound import InboundMessage
from gateway.core.models import Case, InboundEvent
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.work import claims
from gateway.work.inbound import store
from gateway.work.job_paths import RENAMED, migrate_queued_jobs
from tests.support.fake_channels import fake_channel
from tests.support.jobs import BurstWorker
from tests.support.oneshot import CHANNEL

MISSING = 987654  # no such row: the job finds nothing to do and says "skipped"


def enqueue_old(gw, queue: str, path: str, kind: str, row_id: int, **options) -> Job:  # type: ignore[no-untyped-def]
    """Enqueue as the code before the move did, naming the function by its old path."""
    job_id = claims.job_id(kind, row_id)
    return gw.queue(queue).enqueue_call(
        path, (row_id,), job_id=job_id, **claims.JOB_OPTIONS, **options
    )


def test_jobs_queued_under_old_paths_run_after_the_migration(gw, tracker) -> None:  # type: ignore[no-untyped-def]
    with fake_channel("testsms", sender=lambda settings, address, text, mid: f"x{mid}"):
        message = InboundMessage(CHANNEL, "testsms", "old-path-1", "+243810000777", text="A report")
        [stored] = store(gw, [message])  # stored, not enqueued: the old job below is its job
        queued = [
            enqueue_old(gw, "intake", "gateway.jobs.process_inbound", "inbound", stored.event_id),
            enqueue_old(gw, "forwarding", "gateway.jobs.forward", "forward", MISSING),
            enqueue_old(gw, "media", "gateway.media_fetch.fetch_media", "media", MISSING),
            enqueue_old(gw, "media", "gateway.cleanup.run_cleanup", "cleanup", MISSING),
            enqueue_old(
                gw, "intake", "gateway.conversation.file_if_silent", "conversation-timeout", MISSING
            ),
        ]
        soon = utcnow() + timedelta(seconds=1)
        scheduled = gw.queue("outbound").enqueue_at(
            soon,
            "gateway.jobs.send_outbound",
            MISSING,
            job_id="outbound-987654",
            **claims.JOB_OPTIONS,
        )
        deferred = enqueue_old(
            gw,
            "forwarding",
            "gateway.work.jobs.forward",
            "forward",
            MISSING + 1,
            depends_on=queued[1],
        )
        assert deferred.get_status() == JobStatus.DEFERRED
        assert scheduled.get_status() == JobStatus.SCHEDULED

        assert migrate_queued_jobs(gw) == 7
        assert migrate_queued_jobs(gw) == 0  # nothing left to move
        for job in [*queued, scheduled, deferred]:
            job.refresh()
            assert job.func_name in RENAMED.values()
        time.sleep(1.2)  # the scheduled job is due
        BurstWorker(gw.queues(), connection=gw.redis).work(
            burst=True, with_scheduler=True, logging_level="ERROR"
        )
        BurstWorker(gw.queues(), connection=gw.redis).work(burst=True, logging_level="ERROR")

        results = {}
        for job in [*queued, scheduled, deferred]:
            job.refresh()
            assert job.get_status() == JobStatus.FINISHED, (job.id, job.get_status())
            results[job.id] = job.return_value()
    assert results[f"inbound-{stored.event_id}"] == "done"
    assert {results[job.id] for job in [*queued[1:], scheduled, deferred]} == {"skipped"}
    with gw.sessions() as session:
        event = session.get(InboundEvent, stored.event_id)
        assert event is not None and event.state == WorkState.DONE.value
        assert event.case_id is not None and session.get(Case, event.case_id) is not None
    assert len(tracker.requests) == 1  # the new case was forwarded by the jobs that followed


@pytest.mark.parametrize(
    "broken",
    [
        {"status": "queued"},  # no data: a hash half written by a process that died
        {"status": "queued", "data": "not zlib, not a job", "created_at": "yesterday"},
    ],
    ids=["no-data", "garbage"],
)
def test_an_unreadable_queued_job_is_left_and_the_others_move(gw, broken) -> None:  # type: ignore[no-untyped-def]
    good = enqueue_old(gw, "forwarding", "gateway.jobs.forward", "forward", MISSING)
    gw.redis.hset(Job.key_for("forward-broken"), mapping=broken)
    gw.queue("forwarding").push_job_id("forward-broken")
    assert migrate_queued_jobs(gw) == 1  # the readable one; the broken hash stops nothing
    good.refresh()
    assert good.func_name == RENAMED["gateway.jobs.forward"]
    assert gw.redis.hgetall(Job.key_for("forward-broken")) == {
        key.encode(): value.encode() for key, value in broken.items()
    }


def test_a_job_gone_since_it_was_queued_is_not_written_back(gw) -> None:  # type: ignore[no-untyped-def]
    """Its id still in the queue, its hash expired: no stray hash without a TTL appears."""
    job = enqueue_old(gw, "forwarding", "gateway.jobs.forward", "forward", MISSING)
    gw.redis.delete(job.key)
    assert migrate_queued_jobs(gw) == 0
    assert not gw.redis.exists(job.key)


def test_every_job_function_has_its_old_paths_mapped() -> None:
    from gateway.work import cleanup, forwarding, inbound, media_fetch, outbound, silence

    now = {
        f"{func.__module__}.{func.__qualname__}"
        for func in (
            inbound.process_inbound,
            forwarding.forward,
            outbound.send_outbound,
            media_fetch.fetch_media,
            cleanup.run_cleanup,
            silence.file_if_silent,
        )
    }
    assert set(RENAMED.values()) <= now
    assert not set(RENAMED) & now
