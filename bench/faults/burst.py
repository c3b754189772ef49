"""A burst of 5,000 inbound SMS, redeliveries mixed in, through gunicorn and worker processes.

`python -m bench.faults burst`.

BENCH_BURST_MESSAGES webhook requests (default 5,000) reach `POST
/sms/africastalking` of `complaint-gateway serve` (2 gunicorn workers of 8
threads, serve's defaults), sent by BENCH_BURST_CLIENTS threads (default 8) on keep-alive
connections. A fifth of them (BENCH_BURST_DUPLICATE_SHARE) repeat an
earlier message, as a provider redelivers when an answer is slow, often
while the first delivery is still being handled. Every distinct message
comes from its own reporter. BENCH_BURST_WORKERS gateway workers (default
2) carry each one through the whole SMS conversation: the first question is
sent through Africa's Talking's API (a local stand-in), the report is filed
after INTAKE_TIMEOUT_SECONDS of silence (1 s here), forwarded signed to a
local tracker, and the receipt is sent. The PIN hash is Argon2id at its
cheapest (bench/_workers.py), or the run would measure Argon2id alone.

Checked afterwards, on every backend: every request was answered 200; one
inbound event per distinct message and none other; one case per reporter;
every forwarding delivered; the tracker has each case once; each reporter
got one receipt. Runs on PostgreSQL + Redis (when they answer) and on the
embedded default (BENCH_BURST_BACKENDS, default `postgres,embedded`); the
run fails if it is not all done BENCH_BURST_TIMEOUT seconds after the last
request (default 1800).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx

from bench import _services as services
from bench._deployment import deployed
from bench._tracker import AcceptingTracker
from bench.faults import FaultFailed

MESSAGES = int(os.environ.get("BENCH_BURST_MESSAGES", "5000"))
DUPLICATE_SHARE = float(os.environ.get("BENCH_BURST_DUPLICATE_SHARE", "0.2"))
CLIENTS = int(os.environ.get("BENCH_BURST_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_BURST_WORKERS", "2"))
TIMEOUT = float(os.environ.get("BENCH_BURST_TIMEOUT", "1800"))
KINDS = os.environ.get("BENCH_BURST_BACKENDS", "postgres,embedded").split(",")
CALLBACK_KEY = "bench-burst-callback-key"


def plan(total: int, share: float, seed: int = 7) -> list[int]:
    """Message numbers to send, in order: each distinct one once, some again, shuffled."""
    rng = random.Random(seed)
    distinct = total - int(total * share)
    numbers = list(range(distinct)) + rng.choices(range(distinct), k=total - distinct)
    rng.shuffle(numbers)
    return numbers


def number(n: int) -> str:
    return f"+24381{n:07d}"


def _send_all(base: str, numbers: list[int]) -> Counter[int]:
    """POST every message from CLIENTS threads; the count of each HTTP status."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    shares = [numbers[i::CLIENTS] for i in range(CLIENTS)]
    received = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")

    def client(share: list[int]) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for n in share:
                form = {
                    "from": number(n),
                    "to": "12345",
                    "text": f"Burst report {n}: what happened, where and when.",
                    "id": f"ATXid_burst_{n:06d}",
                    "date": received,
                }
                try:
                    status = http.post(f"/sms/africastalking?key={CALLBACK_KEY}", data=form)
                    code = status.status_code
                except httpx.HTTPError:
                    code = 0
                with lock:
                    statuses[code] += 1

    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def check(gw, tracker: AcceptingTracker, api, distinct: int) -> str:  # type: ignore[no-untyped-def]
    """Raise FaultFailed unless every distinct message became exactly one delivered case."""
    from sqlalchemy import func, select

    from gateway.core.models import Case, InboundEvent, OutboxEntry
    from tests.support.faults import receipts_by_number

    with gw.sessions() as session:
        events = session.scalar(select(func.count()).select_from(InboundEvent))
        ids = session.scalar(select(func.count(func.distinct(InboundEvent.provider_message_id))))
        cases = session.scalar(select(func.count()).select_from(Case))
        senders = session.scalar(select(func.count(func.distinct(Case.sender_pseudonym))))
        states = Counter(session.scalars(select(OutboxEntry.state)).all())
    receipts = receipts_by_number(api)
    problems = []
    if events != distinct or ids != distinct:
        problems.append(f"{events} inbound events ({ids} distinct) for {distinct} messages")
    if cases != distinct or senders != distinct:
        problems.append(f"{cases} cases from {senders} reporters for {distinct} messages")
    if states != Counter({"done": distinct}):
        problems.append(f"outbox states {dict(states)}")
    if len(tracker.keys) != distinct:
        problems.append(f"{len(tracker.keys)} cases at the tracker")
    if len(receipts) != distinct or set(receipts.values()) != {1}:
        problems.append(f"receipts to {len(receipts)} reporters, counts {set(receipts.values())}")
    if problems:
        raise FaultFailed("; ".join(problems))
    repeats = f", {tracker.repeats} repeats answered 409" if tracker.repeats else ""
    return f"{distinct} cases, each once at the tracker with one receipt{repeats}"


def burst(backend: services.Backend) -> str:
    """The whole run on one backend; a summary, or FaultFailed."""
    from tests.support.providers import ProviderAPI

    numbers = plan(MESSAGES, DUPLICATE_SHARE)
    distinct = len(set(numbers))
    api = ProviderAPI().start()
    try:
        with deployed(backend, api.url, WORKERS, CALLBACK_KEY, cheap_pin_hash=True) as run:
            gw, tracker = run.gw, run.tracker
            tracker.expect(distinct)
            started = time.monotonic()
            statuses = _send_all(run.base, numbers)
            sent = time.monotonic()
            print(
                f"burst: {backend.name}: {MESSAGES} requests in {sent - started:.0f}s,"
                f" answers {dict(statuses)}",
                flush=True,
            )
            if statuses != Counter({200: MESSAGES}):
                raise FaultFailed(f"answers {dict(statuses)}: every request must get 200")
            if not tracker.reached.wait(TIMEOUT):
                raise FaultFailed(
                    f"{len(tracker.keys)} of {distinct} cases at the tracker after"
                    f" {TIMEOUT:.0f}s; see {run.log}"
                )
            # The last receipts may still be on their way when the last case arrives.
            deadline = sent + TIMEOUT
            while True:
                try:
                    summary = check(gw, tracker, api, distinct)
                    break
                except FaultFailed:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(1)
            done = time.monotonic()
    finally:
        api.stop()
    return (
        f"{backend.name}: {MESSAGES} requests ({distinct} distinct) answered 200 in"
        f" {sent - started:.0f}s, all delivered {done - started:.0f}s after the first; {summary}"
    )


def run() -> str:
    """The burst on every backend that answers."""
    summaries = []
    for kind, skipped in services.kinds():
        if kind not in KINDS:
            continue
        if skipped:
            print(f"burst: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend:
            summary = burst(backend)
        print(f"burst: {summary}", flush=True)
        summaries.append(summary)
    return " | ".join(summaries)
