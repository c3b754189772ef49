"""Run the gateway's queued jobs in-process, the way a worker would."""

from __future__ import annotations

from rq import SimpleWorker

from gateway.core.runtime import Gateway
from gateway.work.intake_relay import relay_all


class BurstWorker(SimpleWorker):
    """A SimpleWorker without RQ's command channel.

    RQ 3 listens for commands (stop, kill) on a pub/sub thread that polls
    every 60 s, and redis-py's `stop()` joins that thread: a burst run could
    end a minute late. A burst worker in a test takes no commands.
    """

    def subscribe(self) -> None:
        self.pubsub_thread = None

    def unsubscribe(self) -> None:
        return None


def run_jobs(gw: Gateway, rounds: int = 10) -> None:
    """Work every queue until empty (jobs may enqueue more, e.g. retries).

    Inbound events announced by intake become jobs first, as a worker's relay makes them.
    """
    for _ in range(rounds):
        relay_all(gw)
        if not any(q.count for q in gw.queues()):
            return
        BurstWorker(gw.queues(), connection=gw.redis).work(burst=True, logging_level="ERROR")
