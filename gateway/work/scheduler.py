"""RQ's scheduler, run as a thread of the worker process.

Jobs due later (a forwarding retry, a silent conversation's filing) wait in
RQ's scheduled-job registries until a scheduler moves them to their queue.
RQ's worker runs that scheduler as a forked child process, which exits for
good on the first lost Redis connection; the worker starts it again only at
its maintenance pass, and an idle worker does not reach that pass while it
blocks for the next job (up to its WORKER_TTL, seven minutes). After a Redis
restart the jobs it held then waited for the next report to arrive.

Here the same scheduler (RQ's own lock and registries, so one is active
among many workers, and another takes over within about a minute of its
machine going away) runs in a thread that survives a lost connection: one
tick fails and the next tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from redis import Redis
from rq.scheduler import RQScheduler

log = logging.getLogger(__name__)
# RQ's own scheduler interval: a job is queued within a second of being due.
TICK_SECONDS = 1.0


def schedule_due(scheduler: RQScheduler) -> None:
    """Take or keep the queues' scheduler locks, then queue every job that is due."""
    if scheduler.acquire_locks():
        scheduler.enqueue_scheduled_jobs()


def schedule_once(connection: Redis, queue_names: Iterable[str]) -> None:
    """Queue what is due now, then free the locks (a burst worker, as RQ's own does)."""
    scheduler = _scheduler(connection, queue_names)
    try:
        schedule_due(scheduler)
    finally:
        scheduler.release_locks()


def _scheduler(connection: Redis, queue_names: Iterable[str]) -> RQScheduler:
    return RQScheduler(list(queue_names), connection=connection, logging_level="WARNING")


class SchedulerThread(threading.Thread):
    """Queues due jobs every TICK_SECONDS while its worker runs."""

    def __init__(self, connection: Redis, queue_names: Iterable[str]) -> None:
        super().__init__(name="rq-scheduler", daemon=True)
        self.scheduler = _scheduler(connection, queue_names)
        self.stopping = threading.Event()
        self.failing = False

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                schedule_due(self.scheduler)
            except Exception:  # noqa: BLE001 - Redis away: the jobs wait in its registries
                if not self.failing:  # once per outage, not every second
                    log.warning("scheduler tick failed; retrying every second", exc_info=True)
                self.failing = True
            else:
                if self.failing:
                    log.info("scheduler running again")
                self.failing = False
            self.stopping.wait(TICK_SECONDS)

    def stop(self) -> None:
        """Stop ticking and free the locks at once, so another worker's scheduler takes over."""
        self.stopping.set()
        self.join(timeout=5)
        try:
            self.scheduler.release_locks()
        except Exception:  # noqa: BLE001 - the locks expire on their own within a minute
            log.warning("scheduler locks not released", exc_info=True)
