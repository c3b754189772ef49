"""Intake to forward: how many reports a second the whole pipeline carries.

Measured: BENCH_REPORTS one-message reports (default 300) handed to
`intake.submit` one at a time, as the webhook path does, from this process,
while BENCH_WORKERS gateway worker processes (default 2) take each one
through the pipeline (claim, file the case with its Argon2id PIN hash,
encrypt, queue the receipt, forward signed over HTTP to a local tracker
that accepts, send the receipt); the clock stops when the tracker has the
last case.

Floor, in the same run on the same Redis: as many plain RQ SimpleWorker
processes working BENCH_NOOP_JOBS no-op jobs (default 2000) enqueued one at
a time from this process. Each report is one job since 2026-12-05 (the
intake job files, then sends the receipt and forwards itself:
gateway.work.effects.carry_on; before, three: intake, forwarding, receipt),
so a pipeline that cost nothing but its jobs would reach the floor. A
second run with the PIN hash at its cheapest shows what the rest of the
pipeline costs (the deliberately slow Argon2id hash is most
of a report's CPU time). The last row compares `intake.submit` (a database
INSERT and an enqueue) with a bare RQ enqueue from one process.

Slow-hash floor, on a fresh backend: BENCH_SLOW_HASH_WORKERS plain RQ
SimpleWorker processes (default 1) working as many jobs as there are
reports, each doing only the PIN hash a filing makes
(`argon2.PasswordHasher()` with the parameters the gateway uses), against
the gateway with as many worker processes carrying the same number of
reports. No pipeline can file a report faster than it can hash its PIN, so
this is the floor a report's unavoidable cost sets; the no-op floor is what
RQ alone would allow.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rq import Queue
from sqlalchemy import func, select

from bench import Row
from bench import _services as services
from bench import _workers as workers
from bench._tracker import AcceptingTracker

REPORTS = int(os.environ.get("BENCH_REPORTS", "300"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
NOOP_JOBS = int(os.environ.get("BENCH_NOOP_JOBS", "2000"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
SLOW_HASH_WORKERS = int(os.environ.get("BENCH_SLOW_HASH_WORKERS", "1"))
JOBS_PER_REPORT = 1  # the intake job also sends the receipt and forwards


def noop_floor(backend: services.Backend) -> tuple[float, float]:
    """(no-op jobs/s through WORKERS processes, enqueues/s from one process)."""
    return job_floor(backend, workers.noop, NOOP_JOBS, WORKERS)


def slow_hash_floor(backend: services.Backend, worker_count: int) -> float:
    """Jobs/s, each only the PIN's Argon2id hash, through `worker_count` plain RQ workers."""
    return job_floor(backend, workers.slow_hash, REPORTS, worker_count)[0]


def job_floor(
    backend: services.Backend, job: Callable[[], None], count: int, worker_count: int
) -> tuple[float, float]:
    """(`count` jobs/s through `worker_count` plain RQ workers, enqueues/s from one process).

    The workers start on a backend whose Redis has no finished jobs yet (a
    fresh one, or after the other floor), so the finished registry counts
    this run's jobs: its count is read first and waited past.
    """
    import redis as redis_lib

    from gateway.work.claims import JOB_OPTIONS

    connection = redis_lib.Redis.from_url(backend.redis_url)
    queue = Queue(workers.NOOP_QUEUE, connection=connection)
    log = backend.directory / "floor-workers.log"
    processes = [
        workers.start(["noop", backend.redis_url], backend.env(), log) for _ in range(worker_count)
    ]
    try:
        workers.wait_registered(queue, worker_count)
        finished = queue.finished_job_registry
        before = finished.count
        started = time.perf_counter()
        for _ in range(count):
            queue.enqueue(job, **JOB_OPTIONS)
        enqueued = time.perf_counter()
        deadline = started + TIMEOUT
        while finished.count < before + count:
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"{job.__name__} jobs unfinished after {TIMEOUT:.0f}s; see {log}"
                )
            time.sleep(0.005)
        done = time.perf_counter()
        failed = queue.failed_job_registry.count
        if failed:
            raise RuntimeError(f"{failed} {job.__name__} jobs failed; see {log}")
    finally:
        workers.stop(processes)
        connection.close()
    return count / (done - started), count / (enqueued - started)


def pipeline(
    backend: services.Backend, cheap_hash: bool = False, worker_count: int = WORKERS
) -> tuple[float, float, str]:
    """(reports/s intake to tracker, intake.submit calls/s, what the check afterwards found).

    Args:
        backend: a clean backend; the run leaves REPORTS cases in it.
        cheap_hash: the workers hash PINs with Argon2id at its cheapest (diagnostic).
        worker_count: gateway worker processes.
    """
    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.inbound import InboundMessage
    from gateway.core.models import Case, OutboxEntry
    from gateway.core.runtime import Gateway
    from gateway.intake import submit as intake

    with AcceptingTracker() as tracker:
        env = backend.env(
            CASE_TRACKER_URL=tracker.url,
            CASE_TRACKER_SECRET="bench-tracker-secret",
            FORWARDERS="webhook",
            BENCH_CHEAP_PIN_HASH="1" if cheap_hash else "0",
        )
        log = backend.directory / "gateway-workers.log"
        args = ["gateway", "--data-dir", str(backend.directory)]
        processes = [workers.start(args, env, log) for _ in range(worker_count)]
        gw = runtime.install(Gateway.from_settings(Settings.from_mapping(env, backend.directory)))
        try:
            workers.wait_registered(gw.queue("intake"), worker_count)
            tracker.expect(REPORTS)
            received = datetime.now(UTC)
            started = time.perf_counter()
            for n in range(REPORTS):
                message = InboundMessage(
                    channel=workers.CHANNEL,
                    provider=workers.CHANNEL,
                    provider_message_id=f"bench-{n}",
                    sender=f"+24382{n:07d}",
                    text=f"Benchmark report {n}: what happened, where and when, in a few words.",
                    language_hint="en",
                    received_at=received,
                )
                intake.submit(gw, [message])
            submitted = time.perf_counter()
            if not tracker.reached.wait(max(1.0, started + TIMEOUT - time.perf_counter())):
                raise RuntimeError(
                    f"{len(tracker.keys)} of {REPORTS} cases reached the tracker in"
                    f" {TIMEOUT:.0f}s; see {log}"
                )
            done = time.perf_counter()
            # The last outbox rows are marked done just after the tracker answered.
            settle = time.monotonic() + 30
            while True:
                with gw.sessions() as session:
                    cases = session.scalar(select(func.count()).select_from(Case))
                    delivered = session.scalar(
                        select(func.count())
                        .select_from(OutboxEntry)
                        .where(OutboxEntry.state == "done")
                    )
                if cases == delivered == REPORTS or time.monotonic() > settle:
                    break
                time.sleep(0.2)
            check = "checked: one case each" if cases == delivered == REPORTS else "MISMATCH"
            check += f", {tracker.repeats} repeats" if tracker.repeats else ""
        finally:
            workers.stop(processes)
            runtime.uninstall()
            gw.close()
    return REPORTS / (done - started), REPORTS / (submitted - started), check


def run() -> list[Row]:
    """Both figures on every backend that answers; a backend that does not is skipped."""
    rows = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"pipeline: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend:
            print(f"pipeline: {backend.name}: floor ({WORKERS} no-op workers)", flush=True)
            floor, enqueue_rate = noop_floor(backend)
            print(f"pipeline: {backend.name}: {REPORTS} reports", flush=True)
            rate, submit_rate, check = pipeline(backend)
        with services.backend(kind) as backend:
            print(f"pipeline: {backend.name}: {REPORTS} reports, cheap PIN hash", flush=True)
            cheap_rate, _, cheap_check = pipeline(backend, cheap_hash=True)
        with services.backend(kind) as backend:
            n = SLOW_HASH_WORKERS
            print(f"pipeline: {backend.name}: slow-hash floor ({n} plain RQ workers)", flush=True)
            hash_floor = slow_hash_floor(backend, n)
            print(f"pipeline: {backend.name}: {REPORTS} reports, {n} gateway workers", flush=True)
            few_rate, _, few_check = pipeline(backend, worker_count=n)
        print(
            f"pipeline: {backend.name}: {rate:.2f} reports/s ({WORKERS} workers), no-op floor"
            f" {floor:.0f} jobs/s; {few_rate:.2f} reports/s ({n} workers), slow-hash floor"
            f" {hash_floor:.2f} jobs/s, ratio {few_rate / hash_floor:.2f}",
            flush=True,
        )
        rows.append(
            Row(
                "pipeline",
                backend.name,
                f"reports/s, intake.submit to tracker ({REPORTS} reports, {WORKERS} workers)",
                rate,
                f"RQ no-op jobs/s ({WORKERS} workers)",
                floor,
                f"{JOBS_PER_REPORT} jobs a report; {check}",
            )
        )
        rows.append(
            Row(
                "pipeline",
                backend.name,
                f"reports/s, intake.submit to tracker ({REPORTS} reports, {n} workers)",
                few_rate,
                f"RQ jobs/s doing only the PIN's Argon2id hash ({n} workers)",
                hash_floor,
                f"slow-hash floor, {REPORTS} jobs; {few_check}",
            )
        )
        rows.append(
            Row(
                "pipeline",
                backend.name,
                "the same, PIN hash at its cheapest (diagnostic)",
                cheap_rate,
                f"RQ no-op jobs/s ({WORKERS} workers)",
                floor,
                f"what the slow PIN hash costs; {cheap_check}",
            )
        )
        rows.append(
            Row(
                "pipeline",
                backend.name,
                "intake.submit calls/s (1 process, 1 message a call)",
                submit_rate,
                "RQ enqueues/s (1 process)",
                enqueue_rate,
                "measured while the workers ran",
            )
        )
    return rows
