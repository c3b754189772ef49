"""Webhook answer times: counted in memory per process, added to Redis in one round trip.

A flush writes exactly what was counted, keeps what Redis did not take, and
the web process's flusher thread writes without anyone asking for /metrics.
"""

from __future__ import annotations

import socket
import time

import pytest
import redis

from gateway.intake.metrics import KEY, LatencyFlusher, LatencyTally, flush, observe


def stored(client: redis.Redis, endpoint: str) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in client.hgetall(KEY + endpoint).items()}


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ([0.001], {"0.005": 1, "sum": 0.001}),
        ([0.005, 0.0051], {"0.005": 1, "0.01": 1, "sum": 0.0101}),
        ([0.2, 0.3, 11.0], {"0.25": 1, "0.5": 1, "+Inf": 1, "sum": 11.5}),
    ],
)
def test_a_flush_writes_each_bucket_and_the_sum(gw, answers, expected) -> None:  # type: ignore[no-untyped-def]
    for seconds in answers:
        observe(gw, "sms_twilio", seconds)
    assert stored(gw.redis, "sms_twilio") == {}  # counted, not yet written
    flush(gw)
    assert stored(gw.redis, "sms_twilio") == pytest.approx(expected)
    flush(gw)  # nothing new: nothing added
    assert stored(gw.redis, "sms_twilio") == pytest.approx(expected)


def test_counts_redis_did_not_take_are_kept_for_the_next_flush(gw) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    away = redis.Redis(port=port, socket_connect_timeout=0.5)
    counts = LatencyTally()
    counts.add("sms_twilio", 0.002)
    with pytest.raises(redis.ConnectionError):
        counts.flush(away)
    counts.add("sms_twilio", 0.02)
    counts.add("ussd_africastalking", 0.03)
    counts.flush(gw.redis)
    assert stored(gw.redis, "sms_twilio") == pytest.approx({"0.005": 1, "0.025": 1, "sum": 0.022})
    assert stored(gw.redis, "ussd_africastalking") == pytest.approx({"0.05": 1, "sum": 0.03})


def test_the_flusher_thread_writes_the_counts_without_a_metrics_request(gw) -> None:  # type: ignore[no-untyped-def]
    flusher = LatencyFlusher(gw, interval=0.05)
    flusher.start()
    try:
        observe(gw, "ivr_twilio", 0.04)
        deadline = time.monotonic() + 10
        while not stored(gw.redis, "ivr_twilio") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stored(gw.redis, "ivr_twilio") == pytest.approx({"0.05": 1, "sum": 0.04})
        observe(gw, "ivr_twilio", 0.04)
    finally:
        flusher.stop()
        flusher.join(10)
    assert not flusher.is_alive()
    assert stored(gw.redis, "ivr_twilio")["0.05"] == 2  # the last counts, as it stopped
