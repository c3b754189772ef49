"""Webhook latency histograms kept in Redis, so every web process adds to one.

Each web process counts its webhooks' answer times in memory
(`observe`: a lock and two additions) and adds its counts to Redis in one
round trip a second (`LatencyFlusher`, a thread of each `serve` process),
rather than each webhook paying Redis commands of its own: two commands on
the round trip that announces a stored message cost a twentieth of the
webhook's time (bench/README.md, webhook). `GET /metrics` adds the counts
of the process that answers before it reads, so what it shows is at most a
second behind in the other processes. Counts a flush could not write
(Redis away) are kept for the next one.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterator

import redis
from prometheus_client.core import HistogramMetricFamily

from gateway.core.runtime import Gateway

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KEY = "complaint-gateway:latency:"
FLUSH_SECONDS = 1.0
_LABELS = (*map(str, BUCKETS), "+Inf")  # each bucket's label in Redis and Prometheus


class LatencyTally:
    """One process's counts not yet in Redis: per endpoint, per bucket, and the sum."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, float]] = {}

    def add(self, endpoint: str, seconds: float) -> None:
        bucket = _LABELS[bisect.bisect_left(BUCKETS, seconds)]  # the first bound >= seconds
        with self._lock:
            counts = self._counts.setdefault(endpoint, {"sum": 0.0})
            counts[bucket] = counts.get(bucket, 0) + 1
            counts["sum"] += seconds

    def flush(self, client: redis.Redis) -> None:
        """Add the counts to Redis in one round trip; kept for the next flush if it fails."""
        with self._lock:
            taken, self._counts = self._counts, {}
        if not taken:
            return
        try:
            pipe = client.pipeline(transaction=False)
            for endpoint, counts in taken.items():
                for bucket, count in counts.items():
                    if bucket == "sum":
                        pipe.hincrbyfloat(KEY + endpoint, "sum", count)
                    else:
                        pipe.hincrby(KEY + endpoint, bucket, int(count))
            pipe.execute()
        except Exception:
            with self._lock:
                for endpoint, counts in taken.items():
                    kept = self._counts.setdefault(endpoint, {"sum": 0.0})
                    for bucket, count in counts.items():
                        kept[bucket] = kept.get(bucket, 0) + count
            raise


def tally(gw: Gateway) -> LatencyTally:
    """This process's tally for `gw`."""
    return gw.made_once("latency-tally", LatencyTally)


def observe(gw: Gateway, endpoint: str, seconds: float) -> None:
    """Count one request of `endpoint` (a route name, never a URL with data)."""
    tally(gw).add(endpoint, seconds)


def flush(gw: Gateway) -> None:
    """Add this process's counts to Redis now; never raises (a metric must not fail a page)."""
    try:
        tally(gw).flush(gw.redis)
    except Exception:  # noqa: BLE001 - kept for the next flush
        log.debug("latency counts not flushed; kept", exc_info=True)


class LatencyFlusher(threading.Thread):
    """In each web process: add its latency counts to Redis every `interval` seconds."""

    def __init__(self, gw: Gateway, interval: float = FLUSH_SECONDS) -> None:
        super().__init__(name="latency-flusher", daemon=True)
        self.gw, self.interval = gw, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            flush(self.gw)
        flush(self.gw)

    def stop(self) -> None:
        self.stopping.set()


def latency_families(gw: Gateway) -> Iterator[HistogramMetricFamily]:
    flush(gw)  # this process's own counts, so that they are not a second late here
    family = HistogramMetricFamily(
        "gateway_webhook_latency_seconds", "Time to answer a webhook", labels=["endpoint"]
    )
    for key in gw.redis.scan_iter(KEY + "*"):
        endpoint = key.decode()[len(KEY) :]
        raw = {k.decode(): v.decode() for k, v in gw.redis.hgetall(key).items()}
        cumulative, buckets = 0, []
        for bound in _LABELS:
            cumulative += int(raw.get(bound, 0))
            buckets.append((bound, cumulative))
        family.add_metric([endpoint], buckets, float(raw.get("sum", 0)))
    yield family
