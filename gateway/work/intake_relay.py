"""The relay: inbound event ids announced by the web tier become intake jobs, in batches.

The webhook path pushes the id of each row it stored onto one plain Redis
list (`gateway.work.inbound.NEW_EVENTS_KEY`): one short command in a round
trip it makes anyway. Each worker process runs a relay thread that takes
those ids off the list, oldest first, up to `BATCH` at a time, and enqueues
one RQ job per id in one pipelined round trip. A burst costs the worker
one Redis round trip per hundred messages instead of costing every webhook
request an RQ job of its own.

Nothing is lost between the two: an id popped by a relay that dies before
enqueueing it belongs to a row still pending in the database, which the
sweeper enqueues after its grace period, as it does for any row whose job
went missing. An id relayed twice (the sweeper got there first) makes a
job that finds the row's lease taken or the row done.
"""

from __future__ import annotations

import logging
import threading

from gateway.core.runtime import Gateway
from gateway.work.inbound import NEW_EVENTS_KEY, enqueue_new_inbound

log = logging.getLogger(__name__)

BATCH = 100
WAIT_SECONDS = 1.0  # how long one blocking pop waits, so that stopping is noticed


def relay(gw: Gateway, wait_seconds: float = 0) -> int:
    """Enqueue one batch of announced ids; how many. Waits up to `wait_seconds` for the first."""
    ids = [int(raw) for raw in gw.redis.lpop(NEW_EVENTS_KEY, BATCH) or []]
    if not ids and wait_seconds > 0:
        popped = gw.redis.blpop([NEW_EVENTS_KEY], timeout=wait_seconds)
        if popped is None:
            return 0
        ids = [int(popped[1])]
        ids += [int(raw) for raw in gw.redis.lpop(NEW_EVENTS_KEY, BATCH - 1) or []]
    if ids:
        enqueue_new_inbound(gw, ids)
    return len(ids)


def relay_all(gw: Gateway) -> int:
    """Enqueue every announced id (a burst worker, a test); how many."""
    total = 0
    while moved := relay(gw):
        total += moved
    return total


class RelayThread(threading.Thread):
    """Runs `relay` for as long as its worker process runs."""

    def __init__(self, gw: Gateway) -> None:
        super().__init__(name="intake-relay", daemon=True)
        self.gw = gw
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                relay(self.gw, wait_seconds=WAIT_SECONDS)
            except Exception:  # noqa: BLE001 - Redis away: the rows wait in the database
                log.warning("intake relay failed; retrying", exc_info=True)
                self.stopping.wait(WAIT_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
