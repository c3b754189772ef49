"""Webhook latency histograms kept in Redis, so every web process adds to one.

A webhook that stores a message records its latency in the Redis round trip
that announces the message (`record`), not in one of its own: the time
counted ends just before that round trip, which costs well under the first
bucket. Any other answer (refused, ignored, spooled) records it with
`observe`, in a round trip of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import HistogramMetricFamily
from redis.client import Pipeline

from gateway.core.runtime import Gateway

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KEY = "complaint-gateway:latency:"


def record(pipe: Pipeline, endpoint: str, seconds: float) -> None:
    """Add the counting of one request of `endpoint` to a pipeline the caller executes."""
    bucket = next((str(b) for b in BUCKETS if seconds <= b), "+Inf")
    pipe.hincrby(KEY + endpoint, bucket, 1)
    pipe.hincrbyfloat(KEY + endpoint, "sum", seconds)


def observe(gw: Gateway, endpoint: str, seconds: float) -> None:
    """Count one request of `endpoint` (a route name, never a URL with data)."""
    try:
        pipe = gw.redis.pipeline(transaction=False)
        record(pipe, endpoint, seconds)
        pipe.execute()
    except Exception:  # noqa: BLE001,S110 - a metric must never fail a webhook
        pass


def latency_families(gw: Gateway) -> Iterator[HistogramMetricFamily]:
    family = HistogramMetricFamily(
        "gateway_webhook_latency_seconds", "Time to answer a webhook", labels=["endpoint"]
    )
    for key in gw.redis.scan_iter(KEY + "*"):
        endpoint = key.decode()[len(KEY) :]
        raw = {k.decode(): v.decode() for k, v in gw.redis.hgetall(key).items()}
        cumulative, buckets = 0, []
        for bound in [*map(str, BUCKETS), "+Inf"]:
            cumulative += int(raw.get(bound, 0))
            buckets.append((bound, cumulative))
        family.add_metric([endpoint], buckets, float(raw.get("sum", 0)))
    yield family
