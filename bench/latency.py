"""Report to forward: how long a report takes to reach the case tracker once it is taken in.

Measured: BENCH_LATENCY_REPORTS (default 100) one-message reports, handed
to `intake.submit` one at a time (what a provider's webhook does), each
after the previous one has reached the tracker and BENCH_LATENCY_GAP
seconds (default 0.2) more: a low rate, so that no report waits behind
another. The clock runs from the return of `intake.submit` (the moment the
provider gets its 200) to the local tracker receiving the case, through
BENCH_WORKERS gateway worker processes (default 2): claim the event, file
the case (number, PIN and its Argon2id hash, encrypted report), then the
forwarding job signs the case and POSTs it. p50, p95 and p99 are reported.

Floor, in the same run, on the same Redis, tracker and number of workers of
the same class (RQ `SimpleWorker`): what RQ alone costs for the same shape
of work, two jobs one after the other, the first enqueueing the second and
the second POSTing to the tracker. Enqueued one at a time at the same low
rate, timed from the enqueue to the tracker receiving the POST. A
diagnostic row repeats the gateway's p50 with the PIN hash at its cheapest,
to show how much of the wait is that deliberately slow hash.
"""

from __future__ import annotations

import functools
import os
import ssl
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from bench import Row
from bench import _services as services
from bench import _workers as workers
from bench._tracker import AcceptingTracker

REPORTS = int(os.environ.get("BENCH_LATENCY_REPORTS", "100"))
GAP = float(os.environ.get("BENCH_LATENCY_GAP", "0.2"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
DIAGNOSTIC_REPORTS = max(10, REPORTS // 5)


# --- the floor's jobs, run by plain RQ workers (bench._workers noop) ---------------


def floor_first(tracker_url: str, key: str) -> None:
    """The floor's first job: enqueue the second, as the intake job enqueues forwarding."""
    from rq import Queue, get_current_job

    from gateway.work.claims import JOB_OPTIONS

    job = get_current_job()
    assert job is not None
    queue = Queue(job.origin, connection=job.connection)
    queue.enqueue(floor_second, tracker_url, key, **JOB_OPTIONS)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One per process, as the webhook forwarder keeps (building one takes ~20 ms)."""
    return httpx.create_ssl_context()


def floor_second(tracker_url: str, key: str) -> None:
    """The second: one POST to the tracker on a new connection, the least a forwarding can be."""
    headers = {"Idempotency-Key": key}
    httpx.post(tracker_url, content=b"{}", headers=headers, timeout=30, verify=_tls())


# --- measuring -------------------------------------------------------------------


def _one_at_a_time(
    tracker: AcceptingTracker, count: int, send: Callable[[int], None]
) -> list[float]:
    """Seconds from each `send(n)` returning to the tracker receiving what it started."""
    latencies = []
    for n in range(count):
        with tracker.lock:
            before = set(tracker.keys)
            tracker.reached.clear()
        tracker.expect(len(before) + 1)
        send(n)
        sent = time.perf_counter()
        if not tracker.reached.wait(TIMEOUT):
            raise RuntimeError(f"item {n} did not reach the tracker in {TIMEOUT:.0f}s")
        with tracker.lock:
            (key,) = set(tracker.keys) - before
            latencies.append(tracker.arrived[key] - sent)
        time.sleep(GAP)
    return latencies


def floor(backend: services.Backend, tracker: AcceptingTracker) -> list[float]:
    """Enqueue to tracker through two chained RQ jobs on plain SimpleWorkers."""
    import redis as redis_lib
    from rq import Queue

    from gateway.work.claims import JOB_OPTIONS

    connection = redis_lib.Redis.from_url(backend.redis_url)
    queue = Queue(workers.NOOP_QUEUE, connection=connection)
    log = backend.directory / "floor-workers.log"
    processes = [
        workers.start(["noop", backend.redis_url], backend.env(), log) for _ in range(WORKERS)
    ]
    try:
        workers.wait_registered(queue, WORKERS)
        _one_at_a_time(  # warm up: imports in the workers, connections
            tracker, 3, lambda n: queue.enqueue(floor_first, tracker.url, f"warm-{n}")
        )

        def send(n: int) -> None:
            queue.enqueue(floor_first, tracker.url, f"floor-{n}", **JOB_OPTIONS)

        return _one_at_a_time(tracker, REPORTS, send)
    finally:
        workers.stop(processes)
        connection.close()


def reports(
    backend: services.Backend, tracker: AcceptingTracker, count: int, cheap_hash: bool = False
) -> tuple[list[float], str]:
    """Submit to tracker for `count` one-message reports; and what the check afterwards found."""
    from sqlalchemy import func, select

    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.inbound import InboundMessage
    from gateway.core.models import Case
    from gateway.core.runtime import Gateway
    from gateway.intake import submit as intake

    env = backend.env(
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET="bench-tracker-secret",
        FORWARDERS="webhook",
        BENCH_CHEAP_PIN_HASH="1" if cheap_hash else "0",
    )
    log = backend.directory / "gateway-workers.log"
    args = ["gateway", "--data-dir", str(backend.directory)]
    processes = [workers.start(args, env, log) for _ in range(WORKERS)]
    gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, backend.directory)))
    prefix = "cheap" if cheap_hash else "latency"
    try:
        workers.wait_registered(gw.queue("intake"), WORKERS)
        with gw.sessions() as session:
            before = session.scalar(select(func.count()).select_from(Case)) or 0

        def send(n: int) -> None:
            message = InboundMessage(
                channel=workers.CHANNEL,
                provider=workers.CHANNEL,
                provider_message_id=f"{prefix}-{n}",
                sender=f"+24383{n:07d}",
                text=f"Latency report {n}: what happened, where and when, in a few words.",
                language_hint="en",
                received_at=datetime.now(UTC),
            )
            intake.submit(gw, [message])

        _one_at_a_time(tracker, 1, lambda _: send(count))  # warm-up: imports, connections
        latencies = _one_at_a_time(tracker, count, send)
        with gw.sessions() as session:
            cases = (session.scalar(select(func.count()).select_from(Case)) or 0) - before
        check = "checked: one case each" if cases == count + 1 else f"MISMATCH: {cases} cases"
        check += f", {tracker.repeats} repeats" if tracker.repeats else ""
    finally:
        workers.stop(processes)
        runtime.uninstall()
        gw.close()
    return latencies, check


def _percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def run() -> list[Row]:
    """p50/p95/p99 against the floor on every backend that answers."""
    rows = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"latency: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend, AcceptingTracker() as tracker:
            print(f"latency: {backend.name}: floor ({WORKERS} RQ workers)", flush=True)
            floor_latencies = floor(backend, tracker)
            print(f"latency: {backend.name}: {REPORTS} reports", flush=True)
            latencies, check = reports(backend, tracker, REPORTS)
        with services.backend(kind) as backend, AcceptingTracker() as tracker:
            print(f"latency: {backend.name}: {DIAGNOSTIC_REPORTS} reports, cheap PIN hash")
            cheap, cheap_check = reports(backend, tracker, DIAGNOSTIC_REPORTS, cheap_hash=True)
        floor_name = "2 chained RQ jobs, enqueue to tracker"
        for p in (50, 95, 99):
            rows.append(
                Row(
                    "latency",
                    backend.name,
                    f"report to tracker p{p}, ms ({REPORTS} reports, {WORKERS} workers)",
                    _percentile(latencies, p) * 1000,
                    f"{floor_name} p{p}, ms",
                    _percentile(floor_latencies, p) * 1000,
                    f"lower is better; ratio = times the floor; {check}",
                )
            )
        rows.append(
            Row(
                "latency",
                backend.name,
                f"p50, PIN hash at its cheapest (diagnostic, {DIAGNOSTIC_REPORTS} reports)",
                _percentile(cheap, 50) * 1000,
                f"{floor_name} p50, ms",
                _percentile(floor_latencies, 50) * 1000,
                f"what the slow PIN hash adds; {cheap_check}",
            )
        )
    return rows


if __name__ == "__main__":
    from bench import markdown_table

    print(markdown_table(run()))
