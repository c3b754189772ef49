"""Jobs queued before an upgrade that moved their functions still run after it.

RQ stores each job's function as a dotted path (`gateway.jobs.forward`) in
the job's `data`; a worker whose code no longer has that path fails the
job. Before the worker starts (`gateway.processes.run_worker`),
`migrate_queued_jobs` rewrites the path of every job still waiting (in a
queue, or in its scheduled or deferred registry) from an old location to
the function's place now. Jobs that already ran are left as they were.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

from rq.job import Job

from gateway.core.runtime import Gateway
from gateway.work.cleanup import run_cleanup
from gateway.work.forwarding import forward
from gateway.work.inbound import process_inbound
from gateway.work.media_fetch import fetch_media
from gateway.work.outbound import send_outbound
from gateway.work.silence import file_if_silent

log = logging.getLogger(__name__)
BATCH = 500


def dotted_path(func: Callable[..., Any]) -> str:
    """The path RQ stores for `func` (its module and name)."""
    return f"{func.__module__}.{func.__qualname__}"


# Every job function the gateway ever enqueued, by where it used to be.
OLD_PATHS: dict[str, Callable[..., Any]] = {
    # until the layers (gateway/ was flat)
    "gateway.jobs.process_inbound": process_inbound,
    "gateway.jobs.forward": forward,
    "gateway.jobs.send_outbound": send_outbound,
    "gateway.media_fetch.fetch_media": fetch_media,
    "gateway.cleanup.run_cleanup": run_cleanup,
    "gateway.conversation.file_if_silent": file_if_silent,
    # the layers' first cut
    "gateway.work.jobs.process_inbound": process_inbound,
    "gateway.work.jobs.forward": forward,
    "gateway.work.jobs.send_outbound": send_outbound,
    "gateway.conversation.engine.file_if_silent": file_if_silent,
}
RENAMED: dict[str, str] = {
    old: dotted_path(func) for old, func in OLD_PATHS.items() if old != dotted_path(func)
}


def _waiting_job_ids(gw: Gateway) -> list[str]:
    """Jobs not yet run: queued, scheduled for later, or waiting for another job."""
    ids: dict[str, None] = {}
    for queue in gw.queues():
        ids.update(dict.fromkeys(queue.get_job_ids()))
        ids.update(dict.fromkeys(queue.scheduled_job_registry.get_job_ids()))
        ids.update(dict.fromkeys(queue.deferred_job_registry.get_job_ids()))
    return list(ids)


def _moved(job: Job) -> bool:
    """Point `job` at its function's new path (in memory); False when nothing moved."""
    try:
        new = RENAMED.get(job.func_name or "")
    except Exception:  # noqa: BLE001 - a job written by something else: not ours to fix
        log.warning("queued job %s cannot be read; left as it is", job.id)
        return False
    if new is None:
        return False
    job.func_name = new
    job.description = job.get_call_string()
    return True


def migrate_queued_jobs(gw: Gateway) -> int:
    """Rewrite waiting jobs' old function paths; returns how many jobs were changed.

    Only the job's `data` (function, arguments) and `description` are written,
    so its status, timing and place in the queue stay as they were.
    """
    ids = _waiting_job_ids(gw)
    changed = 0
    for start in range(0, len(ids), BATCH):
        jobs = Job.fetch_many(ids[start : start + BATCH], connection=gw.redis)
        with gw.redis.pipeline() as pipe:
            for job in jobs:
                if job is None or not _moved(job):
                    continue
                pipe.hset(
                    job.key,
                    mapping={"data": zlib.compress(job.data), "description": job.description or ""},
                )
                changed += 1
            pipe.execute()
    if changed:
        log.warning("%s queued job(s) moved to their functions' new paths", changed)
    return changed
