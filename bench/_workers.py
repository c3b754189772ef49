"""Worker processes for the benchmarks, started and stopped as process groups.

`python -m bench._workers gateway [worker options]` is `complaint-gateway
worker` (gateway.cli.main) with one more channel, `bench`, in which every
message is a whole report (file the case, queue the receipt), and a sender
for provider `bench` that returns at once: the pipeline then does all of
its real work (store, claim, file with an Argon2id PIN hash, encrypt,
forward signed over HTTP, send the receipt) without a provider's latency.
With BENCH_CHEAP_PIN_HASH=1 the PIN hash is Argon2id at its cheapest, to
show what the rest of the pipeline costs (never a setting for production).

`python -m bench._workers noop REDIS_URL` is a plain RQ SimpleWorker (the
class the gateway's worker uses) on the `bench-noop` queue: the floors
(`noop` jobs, and `slow_hash` jobs that do only the PIN's Argon2id hash).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis as redis_lib
from rq import Queue, SimpleWorker, Worker

from bench._processes import spawn

NOOP_QUEUE = "bench-noop"
CHANNEL = "bench"


def noop() -> None:
    """The floor's job: nothing."""


_pin_hasher = None


def slow_hash(pin: str = "123456") -> None:
    """The slow-hash floor's job: only the PIN hash a filing makes, nothing else.

    `argon2.PasswordHasher()` with the library's defaults, the parameters
    gateway/cases/numbering.py hashes every case's PIN with (made once per
    process, as the gateway's is). Nothing of the gateway is imported.
    """
    global _pin_hasher
    if _pin_hasher is None:
        from argon2 import PasswordHasher

        _pin_hasher = PasswordHasher()
    _pin_hasher.hash(pin)


def start(
    args: list[str], env: dict[str, str], log: Path, python: str = sys.executable
) -> subprocess.Popen[bytes]:
    """`python -m bench._workers ARGS` in its own process group, output to `log`."""
    return spawn([python, "-m", "bench._workers", *args], env, log)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every group (RQ's warm shutdown), then SIGKILL what is left after 15 s."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_registered(queue: Queue, count: int, timeout: float = 60) -> None:
    """Until `count` RQ workers listen on `queue` (they are ready to work)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Worker.count(queue=queue) >= count:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{count} worker(s) did not start within {timeout:.0f}s")


def _bench_channel() -> None:
    from sqlalchemy.orm import Session

    from gateway.cases.filing import file_report
    from gateway.cases.outgoing import queue_message
    from gateway.cases.reports import NewReport
    from gateway.conversation.texts import receipt_text
    from gateway.core import i18n
    from gateway.core.effects import Effects
    from gateway.core.models import InboundEvent
    from gateway.core.providers import Channel, Provider, installed
    from gateway.core.runtime import Gateway

    def one_message_report(
        session: Session, gw: Gateway, event: InboundEvent, payload: dict[str, object]
    ) -> Effects:
        effects = Effects()
        if event.case_id is not None:
            return effects
        locale = event.language_hint or i18n.DEFAULT_LOCALE
        report = NewReport(narrative=str(payload.get("text") or ""), language=locale)
        receipt = file_report(
            session,
            gw,
            report,
            channel="sms",
            provider=event.provider,
            received_at=event.received_at,
            sender_pseudonym=event.sender_pseudonym,
        )
        event.case_id = receipt.case_id
        effects.new_cases.append(receipt.case_id)
        message_id = queue_message(
            session,
            gw,
            channel=event.channel,
            provider=event.provider,
            address=str(payload["sender"]),
            text=receipt_text(locale, receipt),
            dedupe_key=f"receipt:{receipt.case_id}",
            case_id=receipt.case_id,
        )
        if message_id is not None:
            effects.outbound.append(message_id)
        return effects

    installed().add(
        Channel(
            name=CHANNEL,
            providers=(
                Provider(CHANNEL, sender=lambda settings, address, text, mid: f"bench-{mid}"),
            ),
            handlers={CHANNEL: one_message_report},
        )
    )
    if os.environ.get("BENCH_CHEAP_PIN_HASH") == "1":
        # Diagnostic only: what the pipeline costs without its deliberately slow hash.
        from argon2 import PasswordHasher

        from gateway.cases import numbering

        numbering._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def main(argv: list[str]) -> int:
    if argv[:1] == ["noop"]:
        connection = redis_lib.Redis.from_url(argv[1])
        queue = Queue(NOOP_QUEUE, connection=connection)
        SimpleWorker([queue], connection=connection).work(logging_level="WARNING")
        return 0
    if argv[:1] == ["gateway"]:
        from gateway.cli import main as gateway_main

        _bench_channel()
        return gateway_main(["worker", *argv[1:]])
    print("usage: python -m bench._workers (gateway [worker options] | noop REDIS_URL)")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
