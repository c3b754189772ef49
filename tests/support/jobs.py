"""Run the gateway's queued jobs in-process, the way a worker would."""

from __future__ import annotations

from rq import SimpleWorker

from gateway.runtime import Gateway


def run_jobs(gw: Gateway, rounds: int = 10) -> None:
    """Work every queue until empty (jobs may enqueue more, e.g. retries)."""
    for _ in range(rounds):
        if not any(q.count for q in gw.queues()):
            return
        SimpleWorker(gw.queues(), connection=gw.redis).work(burst=True, logging_level="ERROR")
