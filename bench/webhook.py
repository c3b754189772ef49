"""Webhook intake under gunicorn, and what a complete report costs in SMS segments.

Throughput and p99 latency: BENCH_WEBHOOK_REQUESTS (default 2000) signed
Twilio webhooks (each a new MessageSid: verify the signature, parse, one
INSERT, one enqueue, empty TwiML), posted by BENCH_WEBHOOK_CLIENTS (default
8) client threads on keep-alive connections to gunicorn with
BENCH_WEBHOOK_WORKERS (default 2) gthread workers of 4 threads. Floor, in
the same run, same server, same client and body: a bare endpoint of the
benchmark's own app instance (bench/_webhook_app.py) that does one Redis
write. The two alternate in BENCH_WEBHOOK_ROUNDS rounds (default 4), so a
change in the machine's other load during the run weighs on both alike.
No worker runs meanwhile: this is the webhook path alone. Each round stops
at BENCH_TIMEOUT seconds (default 300) whatever it has done.

Segments: one complete report by SMS (statement, the five questions
answered, the receipt) in each language that has a catalog, counting the
SMS segments of every message the gateway sends (gateway.conversation.segments),
against the number of messages (one segment each at best).

Run alone: `python -m bench webhook` (or `python -m bench.webhook`).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import httpx

from bench import Row
from bench import _services as services

REQUESTS = int(os.environ.get("BENCH_WEBHOOK_REQUESTS", "2000"))
CLIENTS = int(os.environ.get("BENCH_WEBHOOK_CLIENTS", "8"))
WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", "2"))
ROUNDS = int(os.environ.get("BENCH_WEBHOOK_ROUNDS", "4"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
TOKEN = "bench-made-up-twilio-token"
ACCOUNT = "AC" + "0" * 30 + "99"
PUBLIC = "http://gateway.bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(backend: services.Backend, port: int) -> subprocess.Popen[bytes]:
    env = backend.env(
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        GATEWAY_DATA_DIR=str(backend.directory),
    )
    log = (backend.directory / "gunicorn.log").open("ab")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--no-control-socket",
        "--log-level",
        "warning",
        "bench._webhook_app:app",
    ]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"gunicorn did not start; see {backend.directory}/gunicorn.log")
        time.sleep(0.2)


def _params(n: int) -> dict[str, str]:
    sid = f"SM{n:032d}"
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": f"+24381{n % 10_000_000:07d}",
        "To": "+243810009901",
        "Body": "HELP",
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


Bodies = list[tuple[dict[str, str], dict[str, str]]]


class Load:
    """Requests posted in one or more rounds: how many, over how long, each one's latency."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.latencies: list[float] = []

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    @property
    def p99(self) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100)[98]


def _load(url: str, bodies: Bodies, into: Load | None = None) -> Load:
    """Post every body once from CLIENTS threads; the wall time and latencies, added to `into`."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    todo = iter(bodies)
    deadline = time.monotonic() + TIMEOUT

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < deadline:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                data, headers = item
                started = time.perf_counter()
                response = http.post(url, data=data, headers=headers)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. HTTP {errors[0]}")
    into = into or Load()
    into.wall += wall
    into.latencies.extend(latencies)
    return into


def webhook(backend: services.Backend) -> list[Row]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    signed = []
    for n in range(REQUESTS):
        params = _params(n)
        signature = validator.compute_signature(f"{PUBLIC}/sms/twilio", params)
        signed.append((params, {"X-Twilio-Signature": signature}))
    plain = [(_params(n), {}) for n in range(REQUESTS)]
    port = _free_port()
    server = _serve(backend, port)
    try:
        base = f"http://127.0.0.1:{port}"
        _load(f"{base}/_bench/floor", plain[: max(50, REQUESTS // 10)])  # warm both up
        floor, hook = Load(), Load()
        for n in range(ROUNDS):
            _load(f"{base}/_bench/floor", plain[n::ROUNDS], into=floor)
            _load(f"{base}/sms/twilio", signed[n::ROUNDS], into=hook)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    _check_stored(backend, REQUESTS)
    setup = f"gunicorn {WORKERS} gthread workers x 4 threads, {CLIENTS} clients, {ROUNDS} rounds"
    return [
        Row(
            "webhook",
            backend.name,
            "signed Twilio webhooks/s",
            hook.rate,
            "bare Redis-write requests/s",
            floor.rate,
            setup,
        ),
        Row(
            "webhook",
            backend.name,
            "webhook p99 latency, ms",
            hook.p99 * 1000,
            "floor p99 latency, ms",
            floor.p99 * 1000,
            "lower is better; ratio = times the floor",
        ),
    ]


def _check_stored(backend: services.Backend, expected: int) -> None:
    from sqlalchemy import create_engine, func, select

    from gateway.core.models import InboundEvent

    engine = create_engine(backend.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(InboundEvent)).scalar_one()
    engine.dispose()
    if stored != expected:
        raise RuntimeError(f"{stored} inbound events stored for {expected} webhooks")


# --- segments per complete report -------------------------------------------------


def segments_per_report(backend: services.Backend) -> list[Row]:
    """One complete SMS report per language, counting the segments of what is sent."""
    from rq import SimpleWorker

    from gateway.app import load_channels
    from gateway.conversation.segments import measure
    from gateway.core import i18n, runtime
    from gateway.core.config import Settings
    from gateway.core.inbound import InboundMessage
    from gateway.core.providers import Channel, Provider, installed
    from gateway.core.runtime import Gateway
    from gateway.intake import submit as intake

    sent: list[str] = []

    def capture(settings, address, text, message_id):  # type: ignore[no-untyped-def]
        sent.append(text)
        return None

    load_channels()  # the conversation's channels
    installed().add(Channel(name="bench-sms", providers=(Provider("bench-sms", sender=capture),)))
    settings = Settings.from_mapping(backend.env(), backend.directory)
    gw = runtime.install(Gateway.from_settings(settings))
    rows = []
    try:
        for number, locale in enumerate(i18n.available_locales()):

            def say(text: str, n: list[int] = [0], locale=locale, number=number) -> None:  # noqa: B006
                n[0] += 1
                intake.submit(
                    gw,
                    [
                        InboundMessage(
                            channel="sms",
                            provider="bench-sms",
                            provider_message_id=f"seg-{locale}-{n[0]}",
                            sender=f"+2438100{number:05d}",
                            text=text,
                        )
                    ],
                )
                queues = [gw.queue("intake"), gw.queue("outbound")]  # no forwarding here
                for _ in range(10):
                    if not any(q.count for q in queues):
                        break
                    SimpleWorker(queues, connection=gw.redis).work(
                        burst=True, logging_level="ERROR"
                    )

            say(f"LANGUAGE {locale}")
            sent.clear()
            for text in ("Statement of what happened", "1", "3", "1", "At the market", "1"):
                say(text)
            segments = sum(measure(text).count for text in sent)
            encodings = sorted({measure(text).encoding for text in sent})
            rows.append(
                Row(
                    "webhook",
                    backend.name,
                    f"SMS segments per complete report, {locale}",
                    segments,
                    "messages sent (1 segment each at best)",
                    len(sent),
                    f"{'/'.join(encodings)}; lower is better, 1.0: every message fits one SMS",
                )
            )
    finally:
        runtime.uninstall()
        gw.close()
        installed().remove("bench-sms")
    return rows


def run() -> list[Row]:
    rows: list[Row] = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"webhook: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend:
            rows.extend(webhook(backend))
    with services.backend("embedded") as backend:
        rows.extend(segments_per_report(backend))
    return rows


if __name__ == "__main__":
    from bench import markdown_table

    print(markdown_table(run()))
