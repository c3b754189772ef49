"""The sweeper's batch enqueue: one job per row, never a second one beside a job still waiting."""

from __future__ import annotations

from gateway.work import claims
from gateway.work.inbound import process_inbound


def intake_ids(gw) -> list[str]:  # type: ignore[no-untyped-def]
    return list(gw.queue("intake").job_ids)


def test_only_rows_without_a_waiting_job_are_enqueued(gw) -> None:  # type: ignore[no-untyped-def]
    claims.enqueue(gw, "intake", process_inbound, "inbound", 1)
    gw.redis.hset("rq:job:inbound-3", "status", "queued")  # a half-written job hash
    assert claims.enqueue_missing(gw, "intake", process_inbound, "inbound", [1, 2, 3]) == 2
    assert sorted(intake_ids(gw)) == ["inbound-1", "inbound-2", "inbound-3"]
    jobs = {job.id: job.args for job in gw.queue("intake").get_jobs()}
    assert jobs == {"inbound-1": (1,), "inbound-2": (2,), "inbound-3": (3,)}
    assert claims.enqueue_missing(gw, "intake", process_inbound, "inbound", [1, 2, 3]) == 0
    assert claims.enqueue_missing(gw, "intake", process_inbound, "inbound", []) == 0
    assert len(intake_ids(gw)) == 3


def test_a_finished_job_does_not_hide_a_row_that_is_pending_again(gw) -> None:  # type: ignore[no-untyped-def]
    claims.enqueue(gw, "intake", process_inbound, "inbound", 7)
    job = gw.queue("intake").fetch_job("inbound-7")
    gw.queue("intake").remove(job)
    job.set_status("finished")
    assert claims.enqueue_missing(gw, "intake", process_inbound, "inbound", [7]) == 1
    assert intake_ids(gw) == ["inbound-7"]
