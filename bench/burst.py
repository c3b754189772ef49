"""A burst of one-message SMS reports: how long the first and the last reporter wait for a receipt.

Measured: BENCH_BURST_REPORTS (default 1,000) Africa's Talking webhooks,
each from its own reporter, posted as fast as BENCH_BURST_CLIENTS client
threads (default 8, keep-alive) can to `POST /sms/africastalking` of the real
`complaint-gateway serve` (2 gunicorn workers of 8 threads, serve's defaults). The gateway's
BENCH_BURST_WORKERS worker processes (default: one per CPU core, as
docs/deployment.md advises) carry each report
through the SMS conversation as deployed: the first question is sent, the
report is filed after INTAKE_TIMEOUT_SECONDS of silence (1 s here; the
sweeper looks every second) with the real Argon2id PIN hash, forwarded
signed to a local tracker, and the receipt is sent through Africa's
Talking's API, played by a local stand-in that notes when each receipt
arrives. Per report: from the moment its webhook was posted to the moment
its receipt reached the stand-in; p50, p95 and the maximum.

Floor, on a fresh backend of the same kind: plain RQ SimpleWorker
processes working as many jobs, each only the PIN hash a filing makes
(bench/_workers.py `slow_hash`), enqueued at once; its time from the first
enqueue to the last job done, with 1, 2, … up to as many processes as the
gateway has, each count on a fresh backend: the floor is the fastest of
them (one Argon2id hash already runs four lanes in threads, and two hashing
processes on two cores are slower than one). No gateway can send the last
of N receipts before it has hashed N PINs, so the maximum wait cannot be
below this time;
the goal is a maximum within 1.3 times it. p50 against the same floor shows
whether the first reporters are served first (about 0.5 when they are, about
1 when every report waits for the whole burst). Lower is better here.

Checked afterwards: every webhook answered 200, one case per reporter, each
case once at the tracker, one receipt per reporter.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from bench import Row
from bench import _services as services
from bench import _workers as workers
from bench._deployment import deployed
from bench._tracker import AcceptingTracker
from bench.pipeline import job_floor
from tests.support.providers import Call, ProviderAPI

REPORTS = int(os.environ.get("BENCH_BURST_REPORTS", "1000"))
WORKERS = int(os.environ.get("BENCH_BURST_WORKERS", str(os.cpu_count() or 1)))
CLIENTS = int(os.environ.get("BENCH_BURST_CLIENTS", "8"))
TIMEOUT = float(os.environ.get("BENCH_BURST_TIMEOUT", "1800"))
CALLBACK_KEY = "bench-burst-callback-key"
GOAL = 1.3
CASE_NUMBER = re.compile(r"\d{4}-\d{6,}-\d")  # as in tests/support/faults.py: a receipt


@dataclass
class TimedProviderAPI(ProviderAPI):
    """The tests' provider stand-in, noting when each receipt (a case number) arrives."""

    receipts: dict[str, list[float]] = field(default_factory=dict)

    def _answer(self, call: Call) -> tuple[int, str | bytes, str]:
        answer = super()._answer(call)
        if answer[0] in (200, 201, 202) and CASE_NUMBER.search(self.text_of(call)):
            self.receipts.setdefault(call.form.get("to", ""), []).append(time.perf_counter())
        return answer

    def receipt_count(self) -> int:
        with self.lock:
            return len(self.receipts)


def number(n: int) -> str:
    return f"+24383{n:07d}"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.5 is the median)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _send_all(base: str) -> tuple[dict[str, float], Counter[int]]:
    """POST every report from CLIENTS threads: when each was posted, and the answers."""
    posted: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    received = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def client(share: range) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for n in share:
                form = {
                    "from": number(n),
                    "to": "12345",
                    "text": f"Burst report {n}: what happened, where and when.",
                    "id": f"ATXid_receipt_{n:06d}",
                    "date": received,
                }
                at = time.perf_counter()
                try:
                    code = http.post(f"/sms/africastalking?key={CALLBACK_KEY}", data=form)
                    status = code.status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    posted[number(n)] = at
                    statuses[status] += 1

    threads = [
        threading.Thread(target=client, args=(range(i, REPORTS, CLIENTS),)) for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return posted, statuses


def _check(gw, tracker: AcceptingTracker, api: TimedProviderAPI) -> str:  # type: ignore[no-untyped-def]
    """What the run left, or RuntimeError unless each reporter has one case and one receipt."""
    from sqlalchemy import func, select

    from gateway.core.models import Case

    with gw.sessions() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        senders = session.scalar(select(func.count(func.distinct(Case.sender_pseudonym))))
    with api.lock:
        counts = Counter(len(times) for times in api.receipts.values())
    problems = []
    if cases != REPORTS or senders != REPORTS:
        problems.append(f"{cases} cases from {senders} reporters for {REPORTS} reports")
    if len(tracker.keys) != REPORTS or tracker.repeats:
        problems.append(f"{len(tracker.keys)} cases at the tracker, {tracker.repeats} repeats")
    if counts != Counter({1: REPORTS}):
        problems.append(f"receipts per reporter {dict(counts)}")
    if problems:
        raise RuntimeError("; ".join(problems))
    return "checked: one case, once at the tracker, one receipt per reporter"


def burst(backend: services.Backend) -> tuple[list[float], str]:
    """Seconds from webhook to receipt, per report, on a clean backend; and the check."""
    api = TimedProviderAPI().start()
    try:
        with deployed(backend, api.url, WORKERS, CALLBACK_KEY, cheap_pin_hash=False) as run:
            gw, tracker = run.gw, run.tracker
            tracker.expect(REPORTS)
            started = time.perf_counter()
            posted, statuses = _send_all(run.base)
            print(
                f"burst: {backend.name}: {REPORTS} webhooks in"
                f" {time.perf_counter() - started:.1f}s, answers {dict(statuses)}",
                flush=True,
            )
            if statuses != Counter({200: REPORTS}):
                raise RuntimeError(f"answers {dict(statuses)}: every webhook must get 200")
            deadline = started + TIMEOUT
            while api.receipt_count() < REPORTS or not tracker.reached.is_set():
                if time.perf_counter() > deadline:
                    raise RuntimeError(
                        f"{api.receipt_count()} receipts, {len(tracker.keys)} cases at the"
                        f" tracker of {REPORTS} after {TIMEOUT:.0f}s; see {run.log}"
                    )
                time.sleep(0.2)
            time.sleep(2)  # a second receipt to anyone would arrive now
            check = _check(gw, tracker, api)
    finally:
        api.stop()
    with api.lock:
        waits = [api.receipts[address][0] - at for address, at in posted.items()]
    return waits, check


def run() -> list[Row]:
    """p50, p95 and max from webhook to receipt against the slow-hash floor, per backend."""
    rows = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"burst: {kind} skipped: {skipped}", flush=True)
            continue
        floors = {}
        for count in range(1, WORKERS + 1):
            with services.backend(kind) as backend:
                print(
                    f"burst: {backend.name}: slow-hash floor, {REPORTS} jobs, {count} worker(s)",
                    flush=True,
                )
                floors[count] = REPORTS / job_floor(backend, workers.slow_hash, REPORTS, count)[0]
                print(f"burst: {backend.name}: floor {floors[count]:.1f}s", flush=True)
        fastest = min(floors, key=floors.__getitem__)
        floor = floors[fastest]
        with services.backend(kind) as backend:
            print(f"burst: {backend.name}: {REPORTS} reports, {WORKERS} worker(s)", flush=True)
            waits, check = burst(backend)
        figures = {
            "p50": percentile(waits, 0.5),
            "p95": percentile(waits, 0.95),
            "max": max(waits),
        }
        print(
            f"burst: {backend.name}: webhook to receipt "
            + ", ".join(f"{k} {v:.1f}s ({v / floor:.2f})" for k, v in figures.items())
            + f"; slow-hash floor {floor:.1f}s for {REPORTS} jobs; goal max <= {GOAL} x floor",
            flush=True,
        )
        for name, value in figures.items():
            rows.append(
                Row(
                    "burst",
                    backend.name,
                    f"{name} s, webhook to receipt ({REPORTS} reports, {WORKERS} worker(s))",
                    value,
                    f"s for {REPORTS} RQ jobs doing only the PIN's Argon2id hash"
                    f" ({fastest} worker(s), the fastest of 1 to {WORKERS})",
                    floor,
                    f"lower is better; goal for max <= {GOAL}; {check}"
                    if name == "max"
                    else "lower is better",
                )
            )
    return rows
