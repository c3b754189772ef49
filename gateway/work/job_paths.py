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
    new = RENAMED.get(job.func_name or "")
    if new is None:
        return False
    job.func_name = new
    job.description = job.get_call_string()
    return True


def _readable(gw: Gateway, job_id: str, raw: dict[bytes, bytes]) -> Job | None:
    """The job its hash describes, or None for a hash gone or unreadable (never ours to fix)."""
    if not raw:
        return None
    try:
        job = Job(job_id, connection=gw.redis)
        job.restore(raw)
        job.func_name  # noqa: B018 - decodes `data`: a bad one raises here, not later
    except Exception:  # noqa: BLE001 - half-written or foreign: the sweeper covers its row
        log.warning("queued job %s cannot be read; left as it is", job_id)
        return None
    return job


# Writes the new `data` only if the hash still holds what was read: a job that ran,
# expired or was rewritten by another worker starting at the same time is left alone.
_COMPARE_AND_SET = """
if redis.call('HGET', KEYS[1], 'data') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'data', ARGV[2], 'description', ARGV[3])
  return 1
end
return 0
"""


def migrate_queued_jobs(gw: Gateway) -> int:
    """Rewrite waiting jobs' old function paths; returns how many jobs were changed.

    Only the job's `data` (function, arguments) and `description` are written,
    so its status, timing and place in the queue stay as they were. A job
    that cannot be read is left as it is: its row is still pending, and the
    sweeper enqueues it again under the new path.
    """
    ids = _waiting_job_ids(gw)
    compare_and_set = gw.redis.register_script(_COMPARE_AND_SET)
    changed = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        with gw.redis.pipeline() as pipe:
            for job_id in batch:
                pipe.hgetall(Job.key_for(job_id))
            hashes = pipe.execute()
        for job_id, raw in zip(batch, hashes, strict=True):
            job = _readable(gw, job_id, raw)
            if job is None or not _moved(job):
                continue
            new_data = zlib.compress(job.data)
            keys, args = [job.key], [raw[b"data"], new_data, job.description or ""]
            changed += int(compare_and_set(keys=keys, args=args))
    if changed:
        log.warning("%s queued job(s) moved to their functions' new paths", changed)
    return changed
